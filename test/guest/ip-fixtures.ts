// busybox 1.35 `ip` output, captured in a network namespace on this host (Debian 12's
// busybox-static, the package the guest image ships). Shared by the parser and plan tests.

export const LINKS = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: v1@eth7: <BROADCAST,MULTICAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc noqueue qlen 1000\\    link/ether 1e:fd:29:c2:1f:ca brd ff:ff:ff:ff:ff:ff
3: eth7@v1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue qlen 1000\\    link/ether 02:00:00:aa:bb:02 brd ff:ff:ff:ff:ff:ff
4: v0@v9: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop qlen 1000\\    link/ether 02:00:00:AA:BB:03 brd ff:ff:ff:ff:ff:ff
`;

export const ADDRS = `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever
2: v1    inet6 fe80::1cfd:29ff:fec2:1fca/64 scope link \\       valid_lft forever preferred_lft forever
3: eth7    inet 10.88.0.5/16 scope global eth7\\       valid_lft forever preferred_lft forever
3: eth7    inet 10.9.0.1 peer 10.9.0.2/32 scope global eth7\\       valid_lft forever preferred_lft forever
3: eth7    inet6 fd00::5/64 scope global tentative \\       valid_lft forever preferred_lft forever
`;

export const ROUTES4 = `default via 10.88.0.1 dev eth7 
10.5.0.0/24 via 10.88.0.1 dev eth7 onlink 
10.9.0.2 dev eth7 scope link  src 10.9.0.1 
10.88.0.0/16 dev eth7 scope link  src 10.88.0.5 
10.88.7.7 dev eth7 scope link 
unreachable 10.200.0.0/16 
192.168.9.0/24 dev eth7 scope link  src 10.88.0.5  metric 100 
`;

export const ROUTES6 = `fd00::/64 dev eth7  metric 256 
fe80::/64 dev v1  metric 256 
default via fd00::1 dev eth7  metric 1024 
multicast ff00::/8 dev v1  metric 256 
`;
