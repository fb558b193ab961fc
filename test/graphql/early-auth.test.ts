import { describe, expect, it } from '@jest/globals';
import { getOperationAST, parse } from 'graphql';
import { mayAskForCaller, mayAskForCallerBySource } from '../../src/graphql/early-auth.js';

const decide = (source: string, name?: string) => {
  const document = parse(source);
  return mayAskForCaller(document, getOperationAST(document, name)!);
};

describe('which operations have their caller looked up before they execute', () => {
  it.each([
    ['{ me { id } }', true],
    ['query { mySessions { id } }', true],
    ['mutation { signOut }', true],
    ['mutation { deleteMyAccount }', true],
    ['query Q { ...F } fragment F on Query { me { id } }', true],
    ['query { ... on Query { me { id } } }', true],
    ['{ __typename me { id } }', true],
    ['{ _entities(representations: []) { __typename } }', true],
    ['mutation { signInWithGoogle(idToken: "t") { accessToken } }', false],
    ['mutation { refreshSession(refreshToken: "t") { accessToken } }', false],
    ['mutation { createSignInNonce { nonce } }', false],
    ['mutation { a: createSignInNonce { nonce } b: signInWithGoogle(idToken: "t") { accessToken } }', false],
    ['mutation M { ...F } fragment F on Mutation { refreshSession(refreshToken: "t") { accessToken } }', false],
    ['{ _service { sdl } }', false],
    ['{ __typename }', false],
    ['{ __schema { queryType { name } } }', false],
  ])('%s → %s', (source, expected) => {
    expect(decide(source)).toBe(expected);
  });

  it('decides per operation of a document, and once per parsed operation', () => {
    const document = parse('query A { ...F } mutation B { createSignInNonce { nonce } } fragment F on Query { me { id } }');
    const a = getOperationAST(document, 'A')!;
    const b = getOperationAST(document, 'B')!;
    expect([mayAskForCaller(document, a), mayAskForCaller(document, b)]).toEqual([true, false]);
    // The same operation objects again: the remembered decisions, even with the fragment gone
    // (Apollo's cached documents never change; this only shows nothing is recomputed).
    const emptied = { ...document, definitions: [] };
    expect([mayAskForCaller(emptied, a), mayAskForCaller(emptied, b)]).toEqual([true, false]);
  });
});

describe('which POSTs have their caller looked up before Apollo starts', () => {
  it.each([
    [{ query: '{ me { id email __typename } }' }, true],
    [{ query: 'mutation { signOut }', variables: {} }, true],
    [{ query: '{ __typename }' }, true],
    [{ query: 'mutation S($t: String!) { signInWithGoogle(idToken: $t) { accessToken } }' }, false],
    [{ query: 'mutation { refreshSession(refreshToken: "x") { accessToken } }' }, false],
    [{ query: 'mutation { createSignInNonce { nonce } }' }, false],
    [{ query: '{ _service { sdl } }' }, false],
    // Only mentioned: left to the parsed check, which looks the caller up for `me`.
    [{ query: '# refreshSession later\n{ me { id } }' }, false],
    [{ extensions: { persistedQuery: { version: 1, sha256Hash: 'x' } } }, false],
    [[{ query: '{ me { id } }' }], false],
    [null, false],
    ['{ me { id } }', false],
  ])('%j → %s', (body, expected) => {
    expect(mayAskForCallerBySource(body)).toBe(expected);
  });
});
