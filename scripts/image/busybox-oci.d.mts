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
