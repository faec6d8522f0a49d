// `npm run bench`: every benchmark, each measured side by side with its reference.
import { benchCriPods } from './cri-pod.js';
import { benchCtrRun } from './ctr-run.js';
import { benchTtrpcVsGrpc } from './ttrpc.js';
import { benchVmBoot } from './vm-boot.js';
import { benchUpdate } from './update.js';
import { benchFootprint } from './footprint.js';
import { benchStartup } from './startup.js';

console.log('== ttrpc vs @grpc/grpc-js, unary over a unix socket');
await benchTtrpcVsGrpc({ durationMs: 2000, callers: [1, 8, 32] });
console.log('\n== guest boot');
await benchVmBoot(3);
console.log('\n== containerd: ctr run with this shim and with runc');
await benchCtrRun(3);
console.log('\n== Update latency: cgroups only vs vCPU and memory hotplug');
await benchUpdate(3);
console.log('\n== Kubernetes pods through containerd\'s CRI plugin: kata vs runc');
await benchCriPods(3, 100);
console.log('\n== Memory footprint per pod: kata (shim + QEMU + virtiofsd) vs runc, PSS');
await benchFootprint(5);
console.log('\n== Start latency: ctr run vs bare VM boot, shim start, 5 pods at once vs 1');
await benchStartup(3);
