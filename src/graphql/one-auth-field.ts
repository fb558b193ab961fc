import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';
import { responseKey, rootFields } from './root-fields.js';

/** Fields that verify a credential (and open or rotate a session, or link an identity). */
export const AUTH_FIELDS: ReadonlySet<string> = new Set(['signInWithGoogle', 'signInWithApple', 'linkIdentity', 'refreshSession']);

/**
 * At most one of AUTH_FIELDS per operation, aliases included.
 *
 * Without it one HTTP request could carry a hundred aliased sign-ins (`a1: signInWithGoogle(…)
 * a2: …`): a hundred verifications and a hundred token guesses for one request, which makes
 * per-request accounting (and the 429 decision) meaningless. The same field selected twice
 * under one response key is merged by GraphQL and runs once, so distinct response keys are
 * what is counted; fragments are expanded; `@skip`/`@include` do not help (counted anyway).
 * Batched HTTP requests (several operations per request) are refused by Apollo already.
 */
export function OneAuthFieldPerOperation(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      if (operation.operation !== 'mutation') return;
      const fields = rootFields(operation.selectionSet, (name) => context.getFragment(name)).filter((f) => AUTH_FIELDS.has(f.name.value));
      const keys = new Set(fields.map(responseKey));
      if (keys.size > 1) {
        context.reportError(
          new GraphQLError(`An operation may contain at most one signInWithGoogle, signInWithApple, linkIdentity or refreshSession field (aliases included); found ${keys.size}.`, {
            nodes: fields,
          }),
        );
      }
    },
  };
}
