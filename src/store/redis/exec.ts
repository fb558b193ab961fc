/** Unwraps a pipeline/MULTI reply: throws the first command error, else returns the results. */
export function unwrap(replies: [Error | null, unknown][] | null): unknown[] {
  if (replies === null) throw new Error('Redis transaction aborted');
  return replies.map(([err, res]) => {
    if (err) throw err;
    return res;
  });
}
