// containerd's own gRPC Tasks.Update (ctr 1.6 has no update command), so Update is
// tested through containerd rather than by calling the shim directly.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { LinuxResources } from '../../src/oci/runtime-spec.js';

const PROTO = fileURLToPath(new URL('./proto/tasks.proto', import.meta.url));
const RESOURCES_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';

interface TasksStub extends grpc.Client {
  Update(
    request: { container_id: string; resources: { type_url: string; value: Buffer } },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null) => void,
  ): grpc.ClientUnaryCall;
}
type TasksStubConstructor = new (address: string, credentials: grpc.ChannelCredentials) => TasksStub;

function loadStub(): TasksStubConstructor {
  const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    containerd: { services: { tasks: { v1: { Tasks: TasksStubConstructor } } } };
  };
  return loaded.containerd.services.tasks.v1.Tasks;
}

/** Calls Tasks.Update with the resources JSON-encoded in an Any, as containerd's client does. */
export async function updateTask(address: string, namespace: string, containerId: string, resources: LinuxResources, timeoutMs = 60_000): Promise<void> {
  const Stub = loadStub();
  const stub = new Stub(`unix://${address}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('containerd-namespace', namespace);
  const value = Buffer.from(JSON.stringify(resources));
  try {
    await new Promise<void>((resolve, reject) =>
      stub.Update({ container_id: containerId, resources: { type_url: RESOURCES_TYPE, value } }, md, { deadline: Date.now() + timeoutMs }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  } finally {
    stub.close();
  }
}
