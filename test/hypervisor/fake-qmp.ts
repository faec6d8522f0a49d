// A QMP server on a unix socket that greets and negotiates like QEMU, then answers each
// command as the test says, or never: for the client's deadlines and close handling.
import { createServer, type Server, type Socket } from 'node:net';

/** A reply's `return` value, or 'never' to leave the command unanswered. */
export type FakeAnswer = unknown | 'never';

export class FakeQmpServer {
  readonly commands: string[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  static async listen(path: string, answer: (command: string) => FakeAnswer): Promise<FakeQmpServer> {
    const server = createServer();
    const fake = new FakeQmpServer(server, path);
    server.on('connection', (sock) => fake.serve(sock, answer));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    return fake;
  }

  /** Drops every client connection, as QEMU does when it dies. */
  dropClients(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.dropClients();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(sock: Socket, answer: (command: string) => FakeAnswer): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.write(JSON.stringify({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 } }, capabilities: [] } }) + '\n');
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as { execute: string; id?: number };
        buf = buf.slice(nl + 1);
        this.commands.push(msg.execute);
        const ret = msg.execute === 'qmp_capabilities' ? {} : answer(msg.execute);
        if (ret !== 'never') sock.write(JSON.stringify({ return: ret, id: msg.id }) + '\n');
      }
    });
  }
}
