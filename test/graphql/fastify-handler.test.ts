import { describe, expect, it } from '@jest/globals';
import type { FastifyRequest } from 'fastify';
import { searchOf, toGraphQLRequest } from '../../src/graphql/fastify-handler.js';

describe('the Fastify → Apollo request', () => {
  it('takes the query string exactly as URL#search does (what Apollo reads for GET)', () => {
    const targets = [
      '/graphql',
      '/graphql?',
      '/graphql?query=%7B%20me%20%7B%20id%20%7D%20%7D',
      '/graphql?query={me{id}}&variables=%7B%7D&operationName=Me',
      '/graphql?a=1#fragment',
      '/graphql#fragment?not=query',
      '/graphql?#',
      '/graphql??double',
      '/graphql?extensions=%7B%22persistedQuery%22%3A1%7D',
      '/graphql?q=a+b&q=c',
    ];
    for (const target of targets) {
      const url = new URL(target, 'http://localhost/');
      expect([target, searchOf(target)]).toEqual([target, url.search]);
      // What Apollo does with it: the same parameters either way.
      expect([...new URLSearchParams(searchOf(target))]).toEqual([...url.searchParams]);
    }
  });

  it('carries method, body and every header (repeated ones joined), lower-cased as Node gives them', () => {
    const request = {
      method: 'POST',
      url: '/graphql?x=1',
      body: { query: '{ me { id } }' },
      headers: { 'content-type': 'application/json', authorization: 'Bearer t', 'x-forwarded-for': ['a', 'b'], empty: '', absent: undefined },
    } as unknown as FastifyRequest;
    const r = toGraphQLRequest(request);
    expect(r.method).toBe('POST');
    expect(r.body).toBe(request.body);
    expect(r.search).toBe('?x=1');
    expect([...r.headers]).toEqual([
      ['content-type', 'application/json'],
      ['authorization', 'Bearer t'],
      ['x-forwarded-for', 'a, b'],
    ]);
  });
});
