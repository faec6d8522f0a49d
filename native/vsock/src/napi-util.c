#include "napi-util.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, napi_value *this_arg) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, this_arg, NULL) != napi_ok) return 0;
  if (argc < n) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "vsock: missing arguments");
    return 0;
  }
  return 1;
}

static int type_error(napi_env env, const char *name, const char *expected) {
  char msg[128];
  snprintf(msg, sizeof msg, "vsock: argument '%s' must be %s", name, expected);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return 0;
}

int arg_int32(napi_env env, napi_value v, const char *name, int32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t != napi_number) return type_error(env, name, "a number");
  return napi_get_value_int32(env, v, out) == napi_ok;
}

int arg_uint32(napi_env env, napi_value v, const char *name, uint32_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t != napi_number) return type_error(env, name, "a number");
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  /* Reject silently wrapped values: a CID or port outside 0..2^32-1 is a caller bug. */
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d)
    return type_error(env, name, "an integer in 0..4294967295");
  *out = (uint32_t)d;
  return 1;
}

int arg_buffer(napi_env env, napi_value v, const char *name, void **data, size_t *len) {
  bool is_buffer = false;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok) return 0;
  if (!is_buffer) return type_error(env, name, "a Buffer or Uint8Array");
  return napi_get_buffer_info(env, v, data, len) == napi_ok;
}

int arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t size) {
  napi_valuetype t;
  size_t len = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t != napi_string) return type_error(env, name, "a string");
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return 0;
  if (len + 1 > size) return type_error(env, name, "a shorter string");
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok;
}

napi_value throw_errno(napi_env env, int err, const char *syscall, const char *what, const char *hint) {
  char code[32], reason[128], msg[512];
  napi_value code_v, msg_v, error, errno_v, syscall_v;

  /* libuv's names/texts match Node's own system errors (uv errors are -errno on Unix). */
  uv_err_name_r(-err, code, sizeof code);
  snprintf(reason, sizeof reason, "%s", strerror(err));
  if (hint != NULL && hint[0] != '\0')
    snprintf(msg, sizeof msg, "vsock: %s failed: %s (%s)", what, reason, hint);
  else
    snprintf(msg, sizeof msg, "vsock: %s failed: %s", what, reason);

  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v) != napi_ok) return NULL;
  if (napi_create_error(env, code_v, msg_v, &error) != napi_ok) return NULL;
  if (napi_create_int32(env, -err, &errno_v) != napi_ok) return NULL;
  if (napi_set_named_property(env, error, "errno", errno_v) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v) != napi_ok) return NULL;
  if (napi_set_named_property(env, error, "syscall", syscall_v) != napi_ok) return NULL;
  napi_throw(env, error);
  return NULL;
}

napi_value make_int32(napi_env env, int32_t v) {
  napi_value out;
  NAPI_OK(napi_create_int32(env, v, &out));
  return out;
}
