// kata-agent: the guest agent inside the VM (logic in src/guest). Bundled by
// scripts/bundle.mjs into dist/kata-agent.mjs, installed in the guest image at
// /usr/lib/kata-agent/kata-agent.mjs and started by /usr/sbin/kata-agent-init.
import { exitProcess, main } from '../src/guest/main.js';

// Exit explicitly: a virtio-serial read blocked in the thread pool would otherwise keep
// the process (and so the VM) alive.
void main(process.argv.slice(2)).then(exitProcess);
