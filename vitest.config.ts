import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration tests share VMs and a private containerd; run files one at a time
    // so a 2-core machine is not oversubscribed by several QEMU guests under TCG.
    fileParallelism: false,
  },
});
