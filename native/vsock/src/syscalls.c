/*
 * Thin, non-blocking wrappers over the socket syscalls. Every call returns at once:
 * "would block" is reported as -1 / false and the caller waits for a Watcher event,
 * so nothing here ever parks the event loop or a threadpool thread.
 */
#include "syscalls.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "napi-util.h"

#define SOCK_FLAGS (SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK)

static const char *socket_hint(int err) {
  switch (err) {
    case EAFNOSUPPORT:
    case ENODEV:
    case EPROTONOSUPPORT:
      return "host has no vsock support: load vhost_vsock / vsock modules";
    default:
      return NULL;
  }
}

static const char *connect_hint(int err) {
  switch (err) {
    case ENODEV:
      return "no vsock transport reaches this CID: a host needs vhost_vsock and a VM with a "
             "vhost-vsock device, CID 1 needs vsock_loopback, a guest needs a virtio-vsock device";
    case ECONNRESET:
    case ECONNREFUSED:
      return "nothing listens on that port, or the peer refused the connection";
    case ETIMEDOUT:
      return "no answer from that CID: the VM may not be running or has another CID";
    default:
      return NULL;
  }
}

static void fill_addr(struct sockaddr_vm *addr, uint32_t cid, uint32_t port) {
  memset(addr, 0, sizeof *addr);
  addr->svm_family = AF_VSOCK;
  addr->svm_cid = cid;
  addr->svm_port = port;
}

napi_value vs_socket(napi_env env, napi_callback_info info) {
  int fd = socket(AF_VSOCK, SOCK_FLAGS, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", "socket(AF_VSOCK)", socket_hint(errno));
  return make_int32(env, fd);
}

/* connect(fd, cid, port) -> true when connected at once, false while in progress. */
napi_value vs_connect(napi_env env, napi_callback_info info) {
  napi_value argv[3], out;
  int32_t fd;
  uint32_t cid, port;
  struct sockaddr_vm addr;
  char what[96];
  int rc;

  if (!get_args(env, info, 3, argv, NULL)) return NULL;
  if (!arg_int32(env, argv[0], "fd", &fd) || !arg_uint32(env, argv[1], "cid", &cid) ||
      !arg_uint32(env, argv[2], "port", &port))
    return NULL;
  fill_addr(&addr, cid, port);
  do {
    rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != EINPROGRESS) {
    int err = errno;
    snprintf(what, sizeof what, "connect to cid %u port %u", cid, port);
    return throw_errno(env, err, "connect", what, connect_hint(err));
  }
  NAPI_OK(napi_get_boolean(env, rc == 0, &out));
  return out;
}

/* finishConnect(fd, cid, port): after the fd polled writable, throws the connect error if any. */
napi_value vs_finish_connect(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  uint32_t cid, port;
  int err = 0;
  socklen_t len = sizeof err;
  char what[96];

  if (!get_args(env, info, 3, argv, NULL)) return NULL;
  if (!arg_int32(env, argv[0], "fd", &fd) || !arg_uint32(env, argv[1], "cid", &cid) ||
      !arg_uint32(env, argv[2], "port", &port))
    return NULL;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err != 0) {
    snprintf(what, sizeof what, "connect to cid %u port %u", cid, port);
    return throw_errno(env, err, "connect", what, connect_hint(err));
  }
  return NULL;
}

/*
 * pendingError(fd) -> the socket's pending errno (SO_ERROR, cleared by reading it), 0 if none.
 * libuv reports POLLERR to a poll handle as UV_EBADF; this recovers the real cause.
 */
napi_value vs_pending_error(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  int err = 0;
  socklen_t len = sizeof err;

  if (!get_args(env, info, 1, argv, NULL) || !arg_int32(env, argv[0], "fd", &fd)) return NULL;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  return make_int32(env, err);
}

/* listen(fd, cid, port, backlog): bind then listen. */
napi_value vs_listen(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, backlog;
  uint32_t cid, port;
  struct sockaddr_vm addr;
  char what[96];

  if (!get_args(env, info, 4, argv, NULL)) return NULL;
  if (!arg_int32(env, argv[0], "fd", &fd) || !arg_uint32(env, argv[1], "cid", &cid) ||
      !arg_uint32(env, argv[2], "port", &port) || !arg_int32(env, argv[3], "backlog", &backlog))
    return NULL;
  fill_addr(&addr, cid, port);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    snprintf(what, sizeof what, "bind to cid %u port %u", cid, port);
    return throw_errno(env, errno, "bind", what, NULL);
  }
  if (listen(fd, backlog) < 0) {
    snprintf(what, sizeof what, "listen on port %u", port);
    return throw_errno(env, errno, "listen", what, NULL);
  }
  return NULL;
}

/* accept(fd) -> new non-blocking fd, or -1 when no connection is pending. */
napi_value vs_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  int client;

  if (!get_args(env, info, 1, argv, NULL) || !arg_int32(env, argv[0], "fd", &fd)) return NULL;
  for (;;) {
    client = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client >= 0) return make_int32(env, client);
    /* A peer that gave up before we accepted is not the listener's failure. */
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_int32(env, -1);
    return throw_errno(env, errno, "accept", "accept", NULL);
  }
}

/* address(fd, peer) -> { cid, port } of the local (peer=false) or remote end. */
napi_value vs_address(napi_env env, napi_callback_info info) {
  napi_value argv[2], out, cid_v, port_v;
  int32_t fd;
  bool peer;
  struct sockaddr_vm addr;
  socklen_t len = sizeof addr;
  int rc;

  if (!get_args(env, info, 2, argv, NULL) || !arg_int32(env, argv[0], "fd", &fd)) return NULL;
  NAPI_OK(napi_get_value_bool(env, argv[1], &peer));
  memset(&addr, 0, sizeof addr);
  rc = peer ? getpeername(fd, (struct sockaddr *)&addr, &len) : getsockname(fd, (struct sockaddr *)&addr, &len);
  if (rc < 0) return throw_errno(env, errno, peer ? "getpeername" : "getsockname", peer ? "getpeername" : "getsockname", NULL);
  NAPI_OK(napi_create_object(env, &out));
  NAPI_OK(napi_create_uint32(env, addr.svm_cid, &cid_v));
  NAPI_OK(napi_create_uint32(env, addr.svm_port, &port_v));
  NAPI_OK(napi_set_named_property(env, out, "cid", cid_v));
  NAPI_OK(napi_set_named_property(env, out, "port", port_v));
  return out;
}

/* One non-blocking read or send: bytes moved (0 on read = end of stream), -1 = would block. */
static napi_value transfer(napi_env env, napi_callback_info info, bool sending) {
  napi_value argv[2];
  int32_t fd;
  void *data;
  size_t len;
  ssize_t n;

  if (!get_args(env, info, 2, argv, NULL) || !arg_int32(env, argv[0], "fd", &fd) ||
      !arg_buffer(env, argv[1], "buffer", &data, &len))
    return NULL;
  do {
    /* MSG_NOSIGNAL: a peer that went away is an EPIPE error, never a SIGPIPE. */
    n = sending ? send(fd, data, len, MSG_NOSIGNAL) : read(fd, data, len);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return make_int32(env, (int32_t)n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return make_int32(env, -1);
  return throw_errno(env, errno, sending ? "write" : "read", sending ? "write" : "read", NULL);
}

/* read(fd, buf) -> bytes read, 0 at end of stream, -1 when nothing is available yet. */
napi_value vs_read(napi_env env, napi_callback_info info) { return transfer(env, info, false); }

/* write(fd, buf) -> bytes written (maybe fewer than asked), -1 when the socket is full. */
napi_value vs_write(napi_env env, napi_callback_info info) { return transfer(env, info, true); }

/* shutdown(fd): half-close our sending side; the peer reads end of stream. */
napi_value vs_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;

  if (!get_args(env, info, 1, argv, NULL) || !arg_int32(env, argv[0], "fd", &fd)) return NULL;
  /* ENOTCONN: the peer already reset the connection; there is nothing left to half-close. */
  if (shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN)
    return throw_errno(env, errno, "shutdown", "shutdown", NULL);
  return NULL;
}

/* close(fd): for descriptors not (yet) owned by a Watcher. */
napi_value vs_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;

  if (!get_args(env, info, 1, argv, NULL) || !arg_int32(env, argv[0], "fd", &fd)) return NULL;
  /* Linux releases the descriptor even when close() reports EINTR: never retry. */
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close", "close", NULL);
  return NULL;
}

/* socketpair() -> [fd, fd]: connected AF_UNIX stream pair, so the stream layer is testable without vsock. */
napi_value vs_socketpair(napi_env env, napi_callback_info info) {
  int fds[2];
  napi_value out, a, b;

  if (socketpair(AF_UNIX, SOCK_FLAGS, 0, fds) < 0)
    return throw_errno(env, errno, "socketpair", "socketpair(AF_UNIX)", NULL);
  NAPI_OK(napi_create_array_with_length(env, 2, &out));
  NAPI_OK(napi_create_int32(env, fds[0], &a));
  NAPI_OK(napi_create_int32(env, fds[1], &b));
  NAPI_OK(napi_set_element(env, out, 0, a));
  NAPI_OK(napi_set_element(env, out, 1, b));
  return out;
}
