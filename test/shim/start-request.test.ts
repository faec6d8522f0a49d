// How `start` reads what containerd 1.6, 2.0 and 2.3 pass it (flags, environment, stdin as
// byte fixtures: fixtures/containerd-start.ts) and how it answers. The hand-written
// decoders and encoders are checked against the code generated from our copies of
// containerd's .proto files (proto/containerd/…).
import { describe, expect, it } from 'vitest';
import { containerd, google, runtimeoptions } from '../../src/gen/proto.js';
import { shimSocketPath, toUnixAddress } from '../../src/shim/address.js';
import { decodeBootstrapParams, encodeBootstrapResult } from '../../src/shim/bootstrap.js';
import { parseShimFlags } from '../../src/shim/flags.js';
import { readFields } from '../../src/shim/proto-wire.js';
import { classifyStdin, startReply, startRequest } from '../../src/shim/start-request.js';
import {
  BOOTSTRAP_PARAMS,
  BOOTSTRAP_PARAMS_FIELDS,
  bytes,
  CONFIG_PATH,
  CONTAINERD_ADDRESS,
  CONTAINERD_BINARY,
  EXPECTED_ADDRESS,
  NAMESPACE,
  OPTIONS,
  OPTIONS_ANY,
  optionsAny,
  SANDBOX_ID,
  SOCKET_DIR,
  START_FIXTURES,
  TTRPC_ADDRESS,
} from './fixtures/containerd-start.js';

const { BootstrapParams, BootstrapResult } = containerd.runtime.bootstrap.v1;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const FLAGS = parseShimFlags(START_FIXTURES[0]!.argv);
const params = (p: containerd.runtime.bootstrap.v1.IBootstrapParams): Uint8Array => BootstrapParams.encode(p).finish();
/** containerd 2.3's BootstrapParams for the fixture's sandbox, with `extra` changes. */
const params23 = (extra: containerd.runtime.bootstrap.v1.IBootstrapParams = {}): Uint8Array =>
  params({ ...BootstrapParams.decode(BOOTSTRAP_PARAMS), ...extra });
const requestFor = (stdin: Uint8Array, env: NodeJS.ProcessEnv = { TTRPC_ADDRESS }) => startRequest(FLAGS, env, stdin);

describe('start fixtures of containerd 1.6, 2.0 and 2.3', () => {
  it('are what our copies of containerd’s .proto files encode', () => {
    expect(hex(runtimeoptions.v1.Options.encode({ configPath: CONFIG_PATH }).finish())).toBe(hex(OPTIONS));
    expect(hex(optionsAny({ configPath: CONFIG_PATH }))).toBe(hex(OPTIONS_ANY));
    const encoded = params({
      instanceId: SANDBOX_ID,
      namespace: NAMESPACE,
      logLevel: containerd.runtime.bootstrap.v1.LogLevel.LOG_LEVEL_INFO,
      containerdVersion: 'v2.3.4',
      containerdTtrpcAddress: TTRPC_ADDRESS,
      containerdGrpcAddress: CONTAINERD_ADDRESS,
      containerdBinary: CONTAINERD_BINARY,
      extensions: [{ value: google.protobuf.Any.decode(OPTIONS_ANY) }],
      socketDir: SOCKET_DIR,
    });
    expect(hex(encoded)).toBe(hex(BOOTSTRAP_PARAMS));
  });

  it.each(START_FIXTURES)('containerd $containerd: the same socket address and configuration path', (f) => {
    const req = startRequest(parseShimFlags(f.argv), { PATH: '/usr/bin:/bin', ...f.env }, f.stdin);
    expect(req.flags).toMatchObject({ action: 'start', namespace: NAMESPACE, id: SANDBOX_ID, address: CONTAINERD_ADDRESS, publishBinary: CONTAINERD_BINARY, debug: false });
    expect(toUnixAddress(shimSocketPath(req.flags.address, req.flags.namespace, req.flags.id))).toBe(EXPECTED_ADDRESS);
    expect(req.configPath).toBe(CONFIG_PATH);
    expect(req.env.TTRPC_ADDRESS).toBe(TTRPC_ADDRESS);
  });

  it('answers 1.6 and 2.0 with the plain address, and 2.3, which sent BootstrapParams, with a BootstrapResult', () => {
    const [v16, v20, v23] = START_FIXTURES.map((f) => startRequest(parseShimFlags(f.argv), f.env, f.stdin));
    expect(Buffer.from(startReply(v16!.form, EXPECTED_ADDRESS)).toString()).toBe(EXPECTED_ADDRESS);
    expect(Buffer.from(startReply(v20!.form, EXPECTED_ADDRESS)).toString()).toBe(EXPECTED_ADDRESS);
    const result = BootstrapResult.decode(startReply(v23!.form, EXPECTED_ADDRESS));
    expect([result.version, result.address, result.protocol, result.capabilities, result.metadata]).toEqual([2, EXPECTED_ADDRESS, 'ttrpc', [], {}]);
  });

  it('start without stdin (ctr, or a runtime without options) is the plain address and no configuration path', () => {
    const req = requestFor(new Uint8Array(0));
    expect(req).toMatchObject({ form: 'none', flags: FLAGS });
    expect(req.configPath).toBeUndefined();
    expect(Buffer.from(startReply(req.form, EXPECTED_ADDRESS)).toString()).toBe(EXPECTED_ADDRESS);
  });
});

describe('a runtime options Any or a BootstrapParams', () => {
  it('tells the options Any by its fields: Go’s decoder would take it for a BootstrapParams', () => {
    // What containerd's shim library tries first succeeds on the 1.6-2.2 input, and misreads it.
    expect(BootstrapParams.decode(OPTIONS_ANY).instanceId).toBe('runtimeoptions.v1.Options');
    expect(classifyStdin(OPTIONS_ANY)).toMatchObject({ form: 'runtime-options', options: { typeUrl: 'runtimeoptions.v1.Options' } });
    expect(classifyStdin(BOOTSTRAP_PARAMS).form).toBe('bootstrap');
  });

  it('reads config_path only from runtimeoptions.v1.Options, by bare name or URL', () => {
    expect(requestFor(optionsAny({ configPath: '/c.toml' }, 'type.googleapis.com/runtimeoptions.v1.Options')).configPath).toBe('/c.toml');
    // runc's options (another type) and 2.x's config_body without a path name no file.
    expect(requestFor(optionsAny({ configPath: '/c.toml' }, 'containerd.runc.v1.Options')).configPath).toBeUndefined();
    expect(requestFor(optionsAny({ configBody: Buffer.from('ConfigPath = ""') })).configPath).toBeUndefined();
    expect(requestFor(optionsAny({})).configPath).toBeUndefined();
  });

  it('takes the first runtimeoptions extension of BootstrapParams and ignores other extensions', () => {
    const other = google.protobuf.Any.decode(optionsAny({ configPath: '/runc' }, 'containerd.runc.v1.Options'));
    const ours = google.protobuf.Any.decode(optionsAny({ configPath: '/first.toml' }));
    const later = google.protobuf.Any.decode(optionsAny({ configPath: '/second.toml' }));
    expect(requestFor(params23({ extensions: [{ value: other }, { value: ours }, { value: later }] })).configPath).toBe('/first.toml');
    expect(requestFor(params23({ extensions: [] })).configPath).toBeUndefined();
  });
});

describe('BootstrapParams decoded by hand', () => {
  it('equals the generated decoder’s reading, log levels included', () => {
    for (const logLevel of [0, -8, -4, 4, 8, 10, 12, -1000]) {
      const bytes = params23({ logLevel, socketDir: logLevel === 4 ? undefined : SOCKET_DIR });
      const want = BootstrapParams.decode(bytes);
      const got = decodeBootstrapParams(bytes);
      expect(got).toMatchObject({
        instanceId: want.instanceId,
        namespace: want.namespace,
        logLevel: want.logLevel,
        containerdVersion: want.containerdVersion,
        containerdTtrpcAddress: want.containerdTtrpcAddress,
        containerdGrpcAddress: want.containerdGrpcAddress,
        containerdBinary: want.containerdBinary,
        socketDir: want.socketDir ?? undefined,
      });
      expect(got.extensions.map((e) => [e.typeUrl, hex(e.value)])).toEqual(want.extensions.map((e) => [e.value!.type_url, hex(e.value!.value!)]));
    }
  });

  it('turns a debug or trace log level into -debug for the daemon', () => {
    expect(requestFor(params23({ logLevel: -4 })).flags.debug).toBe(true);
    expect(requestFor(params23({ logLevel: -8 })).flags.debug).toBe(true);
    expect(requestFor(params23({ logLevel: 4 })).flags.debug).toBe(false);
  });

  it('skips unknown fields, and known ones of another wire type, as Go does', () => {
    const unknown = Buffer.concat([BOOTSTRAP_PARAMS, bytes('f2 06 03 61 62 63  f8 06 01  1d 01 02 03 04  18 00')]);
    expect(requestFor(unknown)).toMatchObject({ form: 'bootstrap', configPath: CONFIG_PATH });
    // log_level (3) as a string, as no release sent it: ignored, level INFO.
    const odd = Buffer.concat([BOOTSTRAP_PARAMS, bytes('1a 05 64 65 62 75 67')]);
    expect(decodeBootstrapParams(odd).logLevel).toBe(0);
  });

  it('completes flags and the daemon’s TTRPC_ADDRESS that were not passed otherwise', () => {
    const bare = parseShimFlags(['-namespace', NAMESPACE, '-id', SANDBOX_ID, 'start']);
    const req = startRequest(bare, {}, BOOTSTRAP_PARAMS);
    expect(req.flags).toMatchObject({ address: CONTAINERD_ADDRESS, publishBinary: CONTAINERD_BINARY });
    expect(req.env.TTRPC_ADDRESS).toBe(TTRPC_ADDRESS);
  });
});

describe('BootstrapResult encoded by hand', () => {
  it('is byte for byte what the generated encoder writes', () => {
    for (const address of [EXPECTED_ADDRESS, 'unix:///s', `unix:///${'x'.repeat(200)}`]) {
      const want = BootstrapResult.encode({ version: 2, address, protocol: 'ttrpc' }).finish();
      expect(hex(encodeBootstrapResult({ version: 2, address, protocol: 'ttrpc' }))).toBe(hex(want));
    }
  });
});

describe('the plain address, which every containerd from 1.6 to 2.3 accepts', () => {
  it('is no protobuf BootstrapResult (2.3 tries that first, then falls back to it)', () => {
    // "unix" reads as field 14 fixed32 ("nix:"); "/" (0x2f) then has wire type 7, which Go's
    // decoder rejects whatever the path, so containerd 2.3 takes the legacy branch.
    for (const address of [EXPECTED_ADDRESS, 'unix:///run/containerd/s/0', toUnixAddress(shimSocketPath('/run/k3s/containerd/containerd.sock', 'k8s.io', 'x'))]) {
      expect(() => readFields(Buffer.from(address))).toThrow('invalid wire type 7 at byte 5');
      expect(() => BootstrapResult.decode(Buffer.from(address))).toThrow(/wire type 7/);
    }
  });

  it('is no JSON (1.7 to 2.3 try JSON next, then take the text as the address)', () => {
    expect(() => JSON.parse(EXPECTED_ADDRESS) as unknown).toThrow();
  });
});

describe('bad input: one line naming the problem', () => {
  const fails = (stdin: Uint8Array, env: NodeJS.ProcessEnv = { TTRPC_ADDRESS }): string => {
    try {
      startRequest(FLAGS, env, stdin);
    } catch (err) {
      const message = (err as Error).message;
      expect(message).not.toContain('\n');
      return message;
    }
    throw new Error('startRequest accepted the input');
  };

  it('a truncated BootstrapParams, cut anywhere inside a field', () => {
    const boundaries = new Set(BOOTSTRAP_PARAMS_FIELDS.map((_, i) => Buffer.concat(BOOTSTRAP_PARAMS_FIELDS.slice(0, i + 1)).length));
    for (let cut = 1; cut < BOOTSTRAP_PARAMS.length; cut++) {
      if (boundaries.has(cut)) continue; // a shorter message, still well formed: protobuf has no end marker
      const message = fails(BOOTSTRAP_PARAMS.subarray(0, cut));
      // Cut in the first two fields, it could be either form.
      expect(message).toMatch(cut > BOOTSTRAP_PARAMS_FIELDS[0]!.length + BOOTSTRAP_PARAMS_FIELDS[1]!.length ? /^BootstrapParams on stdin \(\d+ bytes\) is malformed: / : /^stdin \(\d+ bytes\) is neither a runtime options Any nor a BootstrapParams: /);
    }
    expect(fails(BOOTSTRAP_PARAMS.subarray(0, 200))).toBe(
      'BootstrapParams on stdin (200 bytes) is malformed: field 8: length 97 at byte 181 runs past the end (17 bytes left)',
    );
  });

  it('malformed protobuf: bad wire types, overlong varints, a broken extension, invalid UTF-8', () => {
    expect(fails(Buffer.from('unix:///run/containerd/s/x'))).toBe('stdin (26 bytes) is neither a runtime options Any nor a BootstrapParams: invalid wire type 7 at byte 5');
    expect(fails(bytes('08 ffffffffffffffffff 7f'))).toMatch(/varint (longer than 10 bytes|overflows 64 bits) at byte 1/);
    expect(fails(bytes('0b'))).toContain('group (wire type 3) at byte 0 is not supported');
    expect(fails(bytes('00'))).toContain('invalid field number 0 at byte 0');
    const badExtension = Buffer.concat([BOOTSTRAP_PARAMS, bytes('42 04 0a 02 0a 7f')]);
    expect(fails(badExtension)).toMatch(/^BootstrapParams on stdin \(\d+ bytes\) is malformed: extension 2: field 1: length 127 at byte 0 runs past the end \(0 bytes left\)$/);
    const badUtf8 = params23({ namespace: 'k8s.io' }).map((b, i, all) => (all.subarray(i, i + 6).toString() === 'k8s.io' ? 0xff : b));
    expect(fails(badUtf8)).toMatch(/is malformed: field 2 is not valid UTF-8$/);
    // An options Any whose value (2) holds an Options with a config_path running past its end.
    expect(fails(Buffer.concat([optionsAny({}), bytes('12 03 12 7f 2f')]))).toMatch(
      /^runtime options on stdin are malformed: field 2: length 127 at byte 0 runs past the end \(1 bytes left\)$/,
    );
  });

  it('JSON, as bootstrap.proto’s own comment describes it: containerd sends protobuf', () => {
    expect(fails(Buffer.from(' {"instance_id":"x"}'))).toMatch(/^stdin \(20 bytes\) holds JSON: containerd passes the runtime options as a protobuf Any or, from 2.3, a protobuf BootstrapParams$/);
  });

  it('an unknown input version: BootstrapParams from a containerd that never sends them', () => {
    expect(fails(params23({ containerdVersion: '2.2.0' }))).toBe('BootstrapParams name containerd 2.2.0, but containerd sends them only from 2.3 on: unknown input version');
    expect(fails(params23({ containerdVersion: 'v1.7.27' }))).toContain('unknown input version');
    for (const version of ['v2.3.0-beta.1', '2.3.4+unknown', 'v3.0.0', '1a2b3c4', '']) expect(requestFor(params23({ containerdVersion: version })).form).toBe('bootstrap');
  });

  it('BootstrapParams that contradict the flags or the environment', () => {
    expect(fails(params23({ instanceId: 'other' }))).toBe(`BootstrapParams instance_id "other" differs from -id "${SANDBOX_ID}"`);
    expect(fails(params23({ namespace: 'default' }))).toBe('BootstrapParams namespace "default" differs from -namespace "k8s.io"');
    expect(fails(params23({ containerdGrpcAddress: '/other.sock' }))).toContain('containerd_grpc_address "/other.sock" differs from -address');
    expect(fails(BOOTSTRAP_PARAMS, { TTRPC_ADDRESS: '/other.ttrpc' })).toContain('containerd_ttrpc_address');
  });
});
