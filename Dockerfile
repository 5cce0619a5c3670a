# ctr-enter's own image: the static binary and a curated debug tool set on an
# empty base, so that it builds with no registry at all. The build context
# is laid out by `make image` (script/image-rootfs).
#
# Run it as a node debugger: privileged, in the host's PID namespace, with
# the runtimes' sockets:
#
#   docker run --rm -it --privileged --pid=host \
#     -v /run/containerd/containerd.sock:/run/containerd/containerd.sock \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     ctr-enter taka --net --pid -- tcpdump -ni eth0
#
# Without --mount the command comes from this image: its tools, in the
# target's namespaces.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT ["/usr/local/bin/ctr-enter"]
