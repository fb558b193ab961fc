import { describe, expect, it } from '@jest/globals';
import { formValues } from '../../src/http/introspection.js';

describe('the introspection form body', () => {
  it('gives exactly what URLSearchParams#getAll gives, on the fast path and off it', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl_-';
    const bodies = [
      `token=${jwt}`,
      `token=${jwt}&token_type_hint=access_token`,
      `token_type_hint=access_token&token=${jwt}`,
      `token=${jwt}&token=other`,
      'token=',
      'token',
      '',
      '&&token=a&&',
      '=token&token==a=b',
      'tokens=a&toke=b&Token=c&xtoken=d',
      'token=a%2Eb',
      'token=a+b',
      'token=%zz&token=%E2%82%AC',
      'tok%65n=a',
      'token=ä€&x=🙂',
      'a=1;token=2',
    ];
    for (const body of bodies) expect([body, formValues(body, 'token')]).toEqual([body, new URLSearchParams(body).getAll('token')]);
  });
});
