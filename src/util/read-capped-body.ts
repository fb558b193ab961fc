/**
 * A response body as UTF-8 text, refused beyond `limit` bytes whether or not Content-Length
 * says so: an identity provider's answer is read into memory, and a hostile or broken endpoint
 * (or anything between) must not make us buffer an unbounded stream. Used for key sets,
 * discovery documents and Apple's token endpoints.
 */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
  constructor() {
    super('the response is too large');
  }
}

export async function readCappedBody(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new BodyTooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
