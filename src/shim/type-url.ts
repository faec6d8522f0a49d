// Any.type_url as containerd 1.6 resolves it: the bare full name, no `type.googleapis.com/`
// (typeurl v1 looks names up in the gogo registry by bare name; protocol-reference §2.5).

/** E.g. `containerd.events.TaskExit` for the generated TaskExit class. */
export function bareTypeUrl(type: { getTypeUrl(prefix?: string): string }): string {
  // protobufjs always joins prefix and full name with "/", even for an empty prefix.
  const url = type.getTypeUrl('');
  return url.slice(url.lastIndexOf('/') + 1);
}
