// The new mount API (open_tree, move_mount, fsopen, fsconfig, fsmount,
// mount_setattr), as glibc 2.36 declares it in <sys/mount.h>. musl
// declares none of it: there, the calls go through syscall(2), with the
// kernel's own constants.
#ifndef CTR_ENTER_MOUNTAPI_H
#define CTR_ENTER_MOUNTAPI_H

#include <sys/mount.h>

#ifndef __GLIBC__
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int open_tree(int dfd, const char *path, unsigned int flags)
{
	return syscall(SYS_open_tree, dfd, path, flags);
}

static inline int move_mount(int from_dfd, const char *from_path, int to_dfd, const char *to_path, unsigned int flags)
{
	return syscall(SYS_move_mount, from_dfd, from_path, to_dfd, to_path, flags);
}

static inline int fsopen(const char *fsname, unsigned int flags)
{
	return syscall(SYS_fsopen, fsname, flags);
}

static inline int fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux)
{
	return syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

static inline int fsmount(int fd, unsigned int flags, unsigned int attr_flags)
{
	return syscall(SYS_fsmount, fd, flags, attr_flags);
}

static inline int mount_setattr(int dfd, const char *path, unsigned int flags, struct mount_attr *attr, size_t size)
{
	return syscall(SYS_mount_setattr, dfd, path, flags, attr, size);
}
#endif

#endif
