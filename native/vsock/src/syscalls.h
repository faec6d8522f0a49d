#ifndef VSOCK_SYSCALLS_H
#define VSOCK_SYSCALLS_H

#include <node_api.h>

napi_value vs_socket(napi_env env, napi_callback_info info);
napi_value vs_connect(napi_env env, napi_callback_info info);
napi_value vs_finish_connect(napi_env env, napi_callback_info info);
napi_value vs_pending_error(napi_env env, napi_callback_info info);
napi_value vs_listen(napi_env env, napi_callback_info info);
napi_value vs_accept(napi_env env, napi_callback_info info);
napi_value vs_address(napi_env env, napi_callback_info info);
napi_value vs_read(napi_env env, napi_callback_info info);
napi_value vs_write(napi_env env, napi_callback_info info);
napi_value vs_shutdown(napi_env env, napi_callback_info info);
napi_value vs_close(napi_env env, napi_callback_info info);
napi_value vs_socketpair(napi_env env, napi_callback_info info);

#endif
