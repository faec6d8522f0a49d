/* AF_VSOCK for Node: Node's net.Socket rejects vsock descriptors, so this binding
 * supplies the socket syscalls plus a libuv poll watcher; src/agent/transport/vsock.ts
 * builds the Duplex on top. vhost.c claims a guest CID on /dev/vhost-vsock for QEMU. */
#include <linux/vm_sockets.h>
#include <node_api.h>

#include "napi-util.h"
#include "syscalls.h"
#include "vhost.h"
#include "watcher.h"

static napi_status set_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_status s = napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  return s != napi_ok ? s : napi_set_named_property(env, exports, name, fn);
}

static napi_status set_u32(napi_env env, napi_value exports, const char *name, uint32_t v) {
  napi_value n;
  napi_status s = napi_create_uint32(env, v, &n);
  return s != napi_ok ? s : napi_set_named_property(env, exports, name, n);
}

static napi_value init(napi_env env, napi_value exports) {
  if (set_fn(env, exports, "socket", vs_socket) != napi_ok ||
      set_fn(env, exports, "connect", vs_connect) != napi_ok ||
      set_fn(env, exports, "finishConnect", vs_finish_connect) != napi_ok ||
      set_fn(env, exports, "pendingError", vs_pending_error) != napi_ok ||
      set_fn(env, exports, "listen", vs_listen) != napi_ok ||
      set_fn(env, exports, "accept", vs_accept) != napi_ok ||
      set_fn(env, exports, "address", vs_address) != napi_ok ||
      set_fn(env, exports, "read", vs_read) != napi_ok ||
      set_fn(env, exports, "write", vs_write) != napi_ok ||
      set_fn(env, exports, "shutdown", vs_shutdown) != napi_ok ||
      set_fn(env, exports, "close", vs_close) != napi_ok ||
      set_fn(env, exports, "socketpair", vs_socketpair) != napi_ok ||
      set_fn(env, exports, "openVhostVsock", vs_open_vhost_vsock) != napi_ok ||
      set_u32(env, exports, "VMADDR_CID_ANY", VMADDR_CID_ANY) != napi_ok ||
      set_u32(env, exports, "VMADDR_CID_LOCAL", VMADDR_CID_LOCAL) != napi_ok ||
      set_u32(env, exports, "VMADDR_CID_HOST", VMADDR_CID_HOST) != napi_ok ||
      set_u32(env, exports, "VMADDR_PORT_ANY", VMADDR_PORT_ANY) != napi_ok ||
      define_watcher(env, exports) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
