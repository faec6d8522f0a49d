// Types for busybox-oci.mjs, so TypeScript tests can import it under strict mode.
export declare const DEFAULT_OUT: string;
export declare const DEFAULT_NAME: string;

export interface BusyboxOciOptions {
  /** Output tar path; default build/images/busybox.oci.tar. */
  out?: string;
  /** Image reference stored as io.containerd.image.name; default docker.io/library/busybox:latest. */
  name?: string;
  /** The static busybox binary; default /bin/busybox. */
  busybox?: string;
  /**
   * Image config fields set over the defaults (Env with PATH, Cmd ["sh"]). Setting
   * Entrypoint without Cmd drops the default Cmd, as a Dockerfile's ENTRYPOINT does.
   */
  config?: ImageConfigOverrides;
  /** Files added to the layer (replacing a busybox file of the same path); parent dirs are created. */
  files?: readonly ImageFile[];
}

/** The OCI image config fields a test image may set (see the OCI image spec's `config`). */
export interface ImageConfigOverrides {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  /** Paths declared as volumes, e.g. {"/data": {}}. */
  Volumes?: Record<string, Record<string, never>>;
  StopSignal?: string;
  Labels?: Record<string, string>;
}

export interface ImageFile {
  /** Path inside the image, e.g. "/data/from-image.txt". */
  path: string;
  content: string | Buffer;
  /** Default 0644. */
  mode?: number;
}

export interface BusyboxOciResult {
  path: string;
  /** The manifest digest, "sha256:<hex>" (what `ctr images ls` shows). */
  digest: string;
  name: string;
  /** True when an up-to-date file was reused. */
  cached: boolean;
}

export declare function buildBusyboxOci(options?: BusyboxOciOptions): Promise<BusyboxOciResult>;
