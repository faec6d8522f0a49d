{
  "targets": [
    {
      "target_name": "vsock",
      "sources": ["src/addon.c", "src/napi-util.c", "src/syscalls.c", "src/vhost.c", "src/watcher.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
