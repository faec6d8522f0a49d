#ifndef VSOCK_VHOST_H
#define VSOCK_VHOST_H

#include <node_api.h>

napi_value vs_open_vhost_vsock(napi_env env, napi_callback_info info);

#endif
