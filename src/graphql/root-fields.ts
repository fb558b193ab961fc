import { Kind, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/**
 * The fields an operation selects at its root, with fragment spreads and inline fragments
 * expanded (each named fragment once, so a cycle, which validation reports anyway, cannot loop
 * and a fragment spread many times costs nothing extra). `@skip`/`@include` are ignored: the
 * callers want every field that *may* run.
 */
export function rootFields(selectionSet: SelectionSetNode, fragment: (name: string) => FragmentDefinitionNode | null | undefined): FieldNode[] {
  const fields: FieldNode[] = [];
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) fields.push(sel);
      else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
      else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        const def = fragment(sel.name.value);
        if (def) walk(def.selectionSet);
      }
    }
  };
  walk(selectionSet);
  return fields;
}

/** The key a field's value gets in the response: its alias, else its name. */
export function responseKey(field: FieldNode): string {
  return field.alias?.value ?? field.name.value;
}
