// Stand-in for the guest agent until dist/kata-agent.mjs exists, and the probe
// used by scripts/guest/boot-smoke.sh. It proves node runs in the guest and
// reports what the real agent will rely on, one "KATA_GUEST key=value" line
// per fact, then exits; kata-agent-init powers the VM off.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

const SHARED_DIR = '/run/kata-containers/shared/containers';
const CHANNEL_NAME = 'agent.channel.0';

const consoleFd = fs.openSync('/dev/console', 'w');
const say = (line) => fs.writeSync(consoleFd, `${line}\n`);
const fact = (key, value) => say(`KATA_GUEST ${key}=${value}`);
const errorText = (err) => String(err?.stderr || err?.message || err).trim().replace(/\s+/g, ' ');

say(`KATA_AGENT_PLACEHOLDER node ${process.version}`);
fact('node_bootstrap_ms', performance.now().toFixed(0));
fact('boot_uptime_s', fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
fact('uname_r', os.release());
fact('pid', `${process.pid} ppid=${process.ppid}`);

const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
fact('mounts', mounts.map(([, dir, type, opts]) => `${dir}:${type}:${opts.split(',')[0]}`).join(' '));
const cgroupMount = mounts.find((m) => m[1] === '/sys/fs/cgroup');
fact('cgroup_mount', cgroupMount ? cgroupMount[2] : 'none');
try {
  fact('cgroup_controllers', fs.readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().replace(/ /g, ','));
  fact('cgroup_subtree_control', fs.readFileSync('/sys/fs/cgroup/cgroup.subtree_control', 'utf8').trim().replace(/ /g, ',') || '(none)');
} catch (err) {
  fact('cgroup_controllers', `error ${errorText(err)}`);
}
fact('modules', fs.readFileSync('/proc/modules', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[0]).sort().join(','));

// virtio-serial ports: no udev in the guest, so map names through sysfs.
let channelDev;
let ports = [];
try {
  ports = fs.readdirSync('/sys/class/virtio-ports');
} catch {
  // no virtio_console or no virtio-serial device
}
for (const port of ports) {
  let name = '';
  try {
    name = fs.readFileSync(`/sys/class/virtio-ports/${port}/name`, 'utf8').trim();
  } catch {
    // unnamed port
  }
  fact('virtio_port', `${port} name=${name}`);
  if (name === CHANNEL_NAME) channelDev = `/dev/${port}`;
}
fact('agent_channel', channelDev ?? 'none');

// Non-blocking so an unconnected host side (writes would block) cannot hang us.
async function probeChannel(dev) {
  const fd = fs.openSync(dev, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  try {
    fs.writeSync(fd, 'KATA_AGENT_PLACEHOLDER hello from the guest\n');
    fact('channel_write', 'ok');
  } catch (err) {
    fact('channel_write', `error ${err.code ?? errorText(err)}`);
  }
  const buf = Buffer.alloc(256);
  for (let i = 0; i < 40; i++) {
    try {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n > 0) {
        fact('channel_read', JSON.stringify(buf.subarray(0, n).toString().trim()));
        return;
      }
    } catch (err) {
      if (err.code !== 'EAGAIN') {
        fact('channel_read', `error ${err.code ?? errorText(err)}`);
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  fact('channel_read', 'nothing');
}
if (channelDev) await probeChannel(channelDev);

try {
  execFileSync('/usr/bin/mount', ['-t', 'virtiofs', 'kataShared', SHARED_DIR], { stdio: ['ignore', 'ignore', 'pipe'] });
  const entries = fs.readdirSync(SHARED_DIR).sort();
  fact('virtiofs_mount', 'ok');
  fact('virtiofs_entries', entries.join(',') || '(empty)');
  for (const entry of entries.filter((e) => e.endsWith('.txt')).slice(0, 3)) {
    fact(`virtiofs_file_${entry}`, JSON.stringify(fs.readFileSync(`${SHARED_DIR}/${entry}`, 'utf8').trim()));
  }
} catch (err) {
  fact('virtiofs_mount', `error ${errorText(err)}`);
}

// Container rootfs are overlays (virtio-fs lower, guest tmpfs upper).
try {
  const base = fs.mkdtempSync('/tmp/overlay-');
  for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(`${base}/${d}`);
  execFileSync('/usr/bin/mount', ['-t', 'overlay', 'overlay', '-o',
    `lowerdir=/usr/lib/kata-agent,upperdir=${base}/upper,workdir=${base}/work`, `${base}/merged`],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.writeFileSync(`${base}/merged/written`, 'x');
  fact('overlay_mount', fs.existsSync(`${base}/upper/written`) ? 'ok' : 'error upper not written');
  execFileSync('/usr/bin/umount', [`${base}/merged`]);
} catch (err) {
  fact('overlay_mount', `error ${errorText(err)}`);
}

try {
  fact('runc_version', execFileSync('/usr/sbin/runc', ['--version'], { encoding: 'utf8' }).split('\n')[0]);
} catch (err) {
  fact('runc_version', `error ${errorText(err)}`);
}
// boot-smoke.sh shares an OCI bundle: run it the way the agent will.
const bundle = `${SHARED_DIR}/bundle`;
if (fs.existsSync(`${bundle}/config.json`)) {
  try {
    const out = execFileSync('/usr/sbin/runc', ['run', '--bundle', bundle, 'smoke'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    fact('runc_run', JSON.stringify(out.trim()));
  } catch (err) {
    fact('runc_run', `error ${errorText(err)}`);
  }
}

fact('done_uptime_s', fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
say('KATA_AGENT_PLACEHOLDER done');
