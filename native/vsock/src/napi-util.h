/* Argument parsing and errno-carrying errors shared by the binding's functions. */
#ifndef VSOCK_NAPI_UTIL_H
#define VSOCK_NAPI_UTIL_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* Bail out of a napi_callback when a Node-API call failed (an exception is pending). */
#define NAPI_OK(call)                                                          \
  do {                                                                         \
    if ((call) != napi_ok) return NULL;                                        \
  } while (0)

/* Fetches exactly `n` arguments; throws TypeError when fewer were passed. */
int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, napi_value *this_arg);
int arg_int32(napi_env env, napi_value v, const char *name, int32_t *out);
int arg_uint32(napi_env env, napi_value v, const char *name, uint32_t *out);
int arg_buffer(napi_env env, napi_value v, const char *name, void **data, size_t *len);
/* A string that fits `size` bytes with its NUL; longer ones are refused, never truncated. */
int arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t size);

/*
 * Throws an Error shaped like Node's system errors: message
 * "vsock: <what> failed: <strerror>[ (<hint>)]", code "EXXX", errno -err, syscall.
 * Always returns NULL so callers can `return throw_errno(...)`.
 */
napi_value throw_errno(napi_env env, int err, const char *syscall, const char *what, const char *hint);

napi_value make_int32(napi_env env, int32_t v);

#endif
