/**
 * A TCP proxy in front of the test server that fails on cue, for outage tests: after a given
 * number of bytes from the server it either cuts every connection (a reset, as a crashed server or
 * a dropped route gives) or freezes them (nothing more goes either way and no close is answered,
 * as a stopped server or a partitioned network behaves). New connections to a frozen proxy are
 * accepted and never answered.
 */
import net from 'node:net';

export type Fault = 'cut' | 'freeze';

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
}

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private trigger: { afterBytes: number; fault: Fault } | null = null;
  private frozen = false;
  /** Bytes the server sent through the proxy since the last `arm` or `reset`. */
  serverBytes = 0;
  /** Faults that went off. */
  fired = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(upstream: { host: string; port: number }): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null;
    const server = net.createServer({ allowHalfOpen: true }, (client) => proxy?.accept(client, upstream));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  /** Forward normally and count from zero. */
  reset(): void {
    this.trigger = null;
    this.frozen = false;
    this.serverBytes = 0;
  }

  /** Fail with `fault` once the server has sent `afterBytes` more bytes (0: at the first byte). */
  arm(afterBytes: number, fault: Fault): void {
    this.reset();
    this.trigger = { afterBytes, fault };
  }

  /** Close every connection through the proxy (the server sees its clients go). */
  dropAll(): void {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, to: { host: string; port: number }): void {
    const pair: Pair = { client, upstream: null };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    });
    if (this.frozen) return;
    const upstream = net.connect({ host: to.host, port: to.port, allowHalfOpen: true });
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      if (!this.frozen) client.destroy();
    });
    client.on('data', (data: Buffer) => {
      if (!this.frozen) upstream.write(data);
    });
    client.on('end', () => {
      if (!this.frozen) upstream.end();
    });
    upstream.on('data', (data: Buffer) => this.fromServer(client, data));
    upstream.on('end', () => {
      if (!this.frozen) client.end();
    });
  }

  private fromServer(client: net.Socket, data: Buffer): void {
    if (this.frozen) return;
    const t = this.trigger;
    if (t === null || this.serverBytes + data.length <= t.afterBytes) {
      this.serverBytes += data.length;
      client.write(data);
      return;
    }
    // The part before the cue still arrives: a message may be cut in two.
    const before = t.afterBytes - this.serverBytes;
    if (before > 0) client.write(data.subarray(0, before));
    this.serverBytes = t.afterBytes;
    this.trigger = null;
    this.fired += 1;
    if (t.fault === 'freeze') {
      this.frozen = true;
      return;
    }
    for (const p of this.pairs) {
      p.client.resetAndDestroy();
      p.upstream?.destroy();
    }
    this.pairs.clear();
  }
}
