// SPDX-License-Identifier: GPL-2.0
/*
 * c_reference: rust_sample's read path written in C, at /dev/c-reference,
 * with the same exported calls (rng_is_initialized(), get_random_bytes(),
 * copy_to_iter()), the same 256-byte stack buffer and page-sized heap
 * buffer. read_bench against it gives the cost of the Rust abstraction
 * alone; against urandom, what any module pays for not being random.c.
 * A benchmark reference only: it is not built or shipped with the firmware.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>

static ssize_t c_reference_read_iter(struct kiocb *kiocb, struct iov_iter *to)
{
	size_t wanted = iov_iter_count(to), copied = 0, size, len, n;
	u64 stack[32], *buf = stack;
	int ret;

	if (!rng_is_initialized()) {
		if (kiocb->ki_filp->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_for_random_bytes();
		if (ret)
			return ret;
	}
	size = min(round_up(wanted, sizeof(u64)), PAGE_SIZE);
	if (size > sizeof(stack)) {
		buf = kmalloc(size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	while (iov_iter_count(to)) {
		if (copied) {
			if (signal_pending(current))
				break;
			cond_resched();
		}
		len = min(iov_iter_count(to), size);
		get_random_bytes(buf, len);
		n = copy_to_iter(buf, len, to);
		copied += n;
		if (n < len)
			break;
	}
	memzero_explicit(buf, size);
	if (buf != stack)
		kfree(buf);
	return copied || !wanted ? copied : -EFAULT;
}

static const struct file_operations c_reference_fops = {
	.owner = THIS_MODULE,
	.read_iter = c_reference_read_iter,
};

static struct miscdevice c_reference_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "c-reference",
	.fops = &c_reference_fops,
};
module_misc_device(c_reference_dev);

MODULE_DESCRIPTION("rust_sample's read path in C, for read_bench");
MODULE_LICENSE("GPL");
