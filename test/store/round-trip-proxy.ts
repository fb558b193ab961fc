import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of a real Redis that counts round trips: a "turn" starts each time the
 * client sends bytes after it has received a reply (or for the first time). Replies are held
 * back `latencyMs`, so anything a client writes before seeing a reply is in the same turn
 * (even if TCP splits a pipeline into several chunks), while a client that waits for a reply
 * before sending its next command necessarily starts a second turn.
 */
export class RoundTripProxy {
  turns = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly upstreamPort: number,
    private readonly latencyMs = 30,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.upstreamPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      let replied = true;
      client.on('data', (buf) => {
        if (replied) this.turns++;
        replied = false;
        upstream.write(buf);
      });
      upstream.on('data', (buf) => {
        setTimeout(() => {
          replied = true;
          if (!client.destroyed) client.write(buf);
        }, this.latencyMs);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Counts turns taken by `fn` (the caller must be otherwise idle). */
  async count(fn: () => Promise<unknown>): Promise<number> {
    // Let any reply still in flight settle so it does not open a turn of its own.
    await new Promise((r) => setTimeout(r, this.latencyMs * 2));
    const before = this.turns;
    await fn();
    return this.turns - before;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
