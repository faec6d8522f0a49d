/*
 * A guest CID for vhost-vsock, Kata's way (virtcontainers utils.FindContextID): open
 * /dev/vhost-vsock and claim a CID with VHOST_VSOCK_SET_GUEST_CID. The descriptor holds
 * the CID until it is closed, so it is handed to QEMU (vhostfd=) instead of reopened there.
 */
#include "vhost.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "napi-util.h"

/* 0, 1 and 2 are reserved (hypervisor, local, host); U32_MAX is VMADDR_CID_ANY, which the kernel refuses. */
#define FIRST_GUEST_CID 3u
#define LAST_GUEST_CID 0xfffffffeu

static const char *open_hint(int err) {
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return "the host has no vhost-vsock: load the vhost_vsock module";
    case EACCES:
    case EPERM:
      return "opening the device needs root";
    default:
      return NULL;
  }
}

static const char *ioctl_hint(int err) {
  switch (err) {
    case EADDRINUSE:
      return "every guest CID is taken";
    case ENOTTY:
    case EINVAL:
      return "not a vhost-vsock device";
    default:
      return NULL;
  }
}

/* 0 on success, else the errno; the kernel takes the CID as a u64. */
static int set_guest_cid(int fd, uint64_t cid) {
  int rc;
  do {
    rc = ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &cid);
  } while (rc < 0 && errno == EINTR);
  return rc < 0 ? errno : 0;
}

/*
 * Kata's search: from `start` up to the last CID, then from start-1 down to the first.
 * Only EADDRINUSE (another VM has it) moves on; any other error is final, where Kata
 * would go on through four billion failing ioctls.
 */
static int claim_cid(int fd, uint32_t start, uint32_t *out) {
  uint64_t cid;
  int err;

  for (cid = start; cid <= LAST_GUEST_CID; cid++) {
    err = set_guest_cid(fd, cid);
    if (err != EADDRINUSE) goto done;
  }
  for (cid = (uint64_t)start - 1; cid >= FIRST_GUEST_CID; cid--) {
    err = set_guest_cid(fd, cid);
    if (err != EADDRINUSE) goto done;
  }
  return EADDRINUSE;
done:
  if (err == 0) *out = (uint32_t)cid;
  return err;
}

/*
 * openVhostVsock(path, startCid) -> { fd, cid }: an open descriptor of `path` holding
 * guest CID `cid`. Throws an errno-carrying Error (nothing stays open) when it cannot.
 */
napi_value vs_open_vhost_vsock(napi_env env, napi_callback_info info) {
  napi_value argv[2], out, fd_v, cid_v;
  char path[4096], what[320];
  uint32_t start, cid = 0;
  int fd, err;

  if (!get_args(env, info, 2, argv, NULL) || !arg_string(env, argv[0], "path", path, sizeof path) ||
      !arg_uint32(env, argv[1], "startCid", &start))
    return NULL;
  if (start < FIRST_GUEST_CID || start > LAST_GUEST_CID) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "vsock: argument 'startCid' must be in 3..4294967294");
    return NULL;
  }
  /* Close-on-exec: only the QEMU we spawn gets it, as a mapped fd (dup2 clears the flag). */
  fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    snprintf(what, sizeof what, "open %s", path);
    return throw_errno(env, err, "open", what, open_hint(err));
  }
  err = claim_cid(fd, start, &cid);
  if (err != 0) {
    close(fd);
    snprintf(what, sizeof what, "VHOST_VSOCK_SET_GUEST_CID on %s", path);
    return throw_errno(env, err, "ioctl", what, ioctl_hint(err));
  }
  if (napi_create_object(env, &out) != napi_ok || napi_create_int32(env, fd, &fd_v) != napi_ok ||
      napi_create_uint32(env, cid, &cid_v) != napi_ok || napi_set_named_property(env, out, "fd", fd_v) != napi_ok ||
      napi_set_named_property(env, out, "cid", cid_v) != napi_ok) {
    close(fd); /* an exception is pending; the caller never saw the descriptor */
    return NULL;
  }
  return out;
}
