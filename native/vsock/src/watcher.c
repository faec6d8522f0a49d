/*
 * Watcher: readiness events for one descriptor from libuv's own loop (uv_poll_t, i.e.
 * epoll), so a connection costs no thread. JavaScript reacts to each event with the
 * non-blocking syscalls in syscalls.c.
 *
 *   new Watcher(fd, onEvent(status, events))   takes ownership of fd
 *   watcher.start(events)                      1 readable | 2 writable | 4 disconnect
 *   watcher.stop()
 *   watcher.close(onClosed?)                   stops, closes fd, then calls onClosed()
 *
 * libuv forbids closing a descriptor while it is polled, so the fd is closed only in
 * the handle's close callback; JavaScript learns of it through onClosed.
 */
#include "watcher.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "napi-util.h"

typedef enum { W_OPEN, W_CLOSING, W_CLOSED } watcher_state;

typedef struct {
  uv_poll_t poll; /* first member: the uv handle pointer is the struct pointer */
  napi_env env;
  napi_ref self; /* strong until closed: libuv points at us, so JS must not collect us */
  napi_ref on_event;
  napi_ref on_closed;
  napi_async_context async_ctx;
  int fd;
  watcher_state state;
  bool finalized; /* the environment is being torn down: no more JavaScript */
} watcher_t;

/* Calls fn_ref(...argv) with this = the Watcher; the caller holds a handle scope. */
static void call_js(watcher_t *w, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = w->env;
  napi_value self, fn, exc;

  if (fn_ref == NULL || napi_get_reference_value(env, w->self, &self) != napi_ok ||
      napi_get_reference_value(env, fn_ref, &fn) != napi_ok)
    return;
  /* make_callback (not call_function): runs microtasks and keeps async_hooks context. */
  if (napi_make_callback(env, w->async_ctx, self, fn, argc, argv, NULL) == napi_pending_exception &&
      napi_get_and_clear_last_exception(env, &exc) == napi_ok)
    napi_fatal_exception(env, exc);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  watcher_t *w = (watcher_t *)handle;
  napi_handle_scope scope;
  napi_value argv[2];

  if (w->state != W_OPEN || w->finalized) return;
  if (napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  if (napi_create_int32(w->env, status, &argv[0]) == napi_ok &&
      napi_create_int32(w->env, events, &argv[1]) == napi_ok)
    call_js(w, w->on_event, 2, argv);
  napi_close_handle_scope(w->env, scope);
}

static void on_close(uv_handle_t *handle) {
  watcher_t *w = (watcher_t *)handle;
  napi_env env = w->env;
  napi_handle_scope scope;

  if (w->fd >= 0) close(w->fd);
  w->state = W_CLOSED;
  if (w->finalized) {
    free(w);
    return;
  }
  if (napi_open_handle_scope(env, &scope) == napi_ok) {
    call_js(w, w->on_closed, 0, NULL);
    napi_close_handle_scope(env, scope);
  }
  napi_delete_reference(env, w->on_event);
  if (w->on_closed != NULL) napi_delete_reference(env, w->on_closed);
  w->on_event = w->on_closed = NULL;
  napi_async_destroy(env, w->async_ctx);
  /* From here the JS object may be collected; its finalizer frees w. */
  napi_delete_reference(env, w->self);
  w->self = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  watcher_t *w = data;
  if (w->state == W_CLOSED) {
    free(w);
    return;
  }
  /* Only reachable at environment teardown (self is a strong reference until closed). */
  w->finalized = true;
  if (w->state == W_OPEN) {
    w->state = W_CLOSING;
    uv_close((uv_handle_t *)&w->poll, on_close);
  }
}

static watcher_t *unwrap(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (!get_args(env, info, n, argv, &self)) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok) return NULL;
  return data;
}

static napi_value throw_state(napi_env env) {
  napi_throw_error(env, "ERR_INVALID_STATE", "vsock: watcher is closed");
  return NULL;
}

static napi_value watcher_new(napi_env env, napi_callback_info info) {
  napi_value argv[2], self, target, name;
  napi_valuetype t;
  int32_t fd;
  uv_loop_t *loop;
  watcher_t *w;
  int rc;

  NAPI_OK(napi_get_new_target(env, info, &target));
  if (target == NULL) {
    napi_throw_type_error(env, "ERR_CONSTRUCT_CALL_REQUIRED", "vsock: Watcher needs new");
    return NULL;
  }
  size_t argc = 2;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "vsock: Watcher(fd, onEvent)");
    return NULL;
  }
  if (!arg_int32(env, argv[0], "fd", &fd)) return NULL;
  NAPI_OK(napi_typeof(env, argv[1], &t));
  if (t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "vsock: argument 'onEvent' must be a function");
    return NULL;
  }
  NAPI_OK(napi_get_uv_event_loop(env, &loop));

  w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, ENOMEM, "calloc", "Watcher", NULL);
  rc = uv_poll_init(loop, &w->poll, fd);
  if (rc < 0) {
    free(w); /* fd stays the caller's to close */
    return throw_errno(env, -rc, "uv_poll_init", "uv_poll_init", NULL);
  }
  w->env = env;
  w->fd = fd;
  w->state = W_OPEN;
  /* Wrap last: until then a failure leaves no JS object pointing at w. */
  if (napi_create_reference(env, argv[1], 1, &w->on_event) != napi_ok ||
      napi_create_string_utf8(env, "VsockWatcher", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &w->async_ctx) != napi_ok ||
      napi_wrap(env, self, w, finalize, NULL, NULL) != napi_ok) {
    /* The exception is pending; the fd stays the caller's, the handle frees w. */
    if (w->on_event != NULL) napi_delete_reference(env, w->on_event);
    w->fd = -1;
    w->finalized = true;
    w->state = W_CLOSING;
    uv_close((uv_handle_t *)&w->poll, on_close);
    return NULL;
  }
  /* Cannot fail in practice once wrap succeeded; a strong self ref is required below. */
  NAPI_OK(napi_create_reference(env, self, 1, &w->self));
  return self;
}

static napi_value watcher_start(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t events;
  int rc;
  watcher_t *w = unwrap(env, info, 1, argv);

  if (w == NULL || !arg_int32(env, argv[0], "events", &events)) return NULL;
  if (w->state != W_OPEN) return throw_state(env);
  events &= UV_READABLE | UV_WRITABLE | UV_DISCONNECT;
  rc = events == 0 ? uv_poll_stop(&w->poll) : uv_poll_start(&w->poll, events, on_poll);
  if (rc < 0) return throw_errno(env, -rc, "uv_poll_start", "uv_poll_start", NULL);
  return NULL;
}

static napi_value watcher_stop(napi_env env, napi_callback_info info) {
  watcher_t *w = unwrap(env, info, 0, NULL);
  if (w == NULL) return NULL;
  if (w->state == W_OPEN) uv_poll_stop(&w->poll);
  return NULL;
}

static napi_value watcher_close(napi_env env, napi_callback_info info) {
  napi_value argv[1], self;
  napi_valuetype t = napi_undefined;
  size_t argc = 1;
  void *data = NULL;
  watcher_t *w;

  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  NAPI_OK(napi_unwrap(env, self, &data));
  w = data;
  if (w->state != W_OPEN) return throw_state(env);
  if (argc >= 1) NAPI_OK(napi_typeof(env, argv[0], &t));
  if (t == napi_function) NAPI_OK(napi_create_reference(env, argv[0], 1, &w->on_closed));
  w->state = W_CLOSING;
  uv_close((uv_handle_t *)&w->poll, on_close);
  return NULL;
}

napi_status define_watcher(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"start", NULL, watcher_start, NULL, NULL, NULL, napi_default_method, NULL},
      {"stop", NULL, watcher_stop, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, watcher_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  napi_status s = napi_define_class(env, "Watcher", NAPI_AUTO_LENGTH, watcher_new, NULL,
                                    sizeof methods / sizeof methods[0], methods, &cls);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, "Watcher", cls);
}
