#ifndef VSOCK_WATCHER_H
#define VSOCK_WATCHER_H

#include <node_api.h>

/* Defines the Watcher class: a uv_poll_t on one fd, which it owns and closes. */
napi_status define_watcher(napi_env env, napi_value exports);

#endif
