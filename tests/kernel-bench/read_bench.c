// SPDX-License-Identifier: GPL-2.0
/*
 * read_bench: the driver side of read(2) on two character devices, measured
 * from kernel space with kernel_read(), so that no system call cost is in it.
 * Loading it prints one line per read size and fails with -EAGAIN: there is
 * nothing to keep loaded.
 *
 *   insmod read_bench.ko [dev=/dev/rust-sample] [ref=/dev/urandom]
 */
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>

static char *dev = "/dev/rust-sample";
static char *ref = "/dev/urandom";
module_param(dev, charp, 0);
module_param(ref, charp, 0);

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Nanoseconds to read total bytes in reads of size; 0 on a short read. */
static u64 timed(struct file *f, char *buf, size_t size, size_t total)
{
	u64 start = ktime_get_ns();
	loff_t pos = 0;

	for (size_t done = 0; done < total; done += size)
		if (kernel_read(f, buf, size, &pos) != size)
			return 0;
	return ktime_get_ns() - start;
}

static int __init read_bench_init(void)
{
	/* devcheck bench's sizes and amounts, so that the two compare. */
	static const struct {
		size_t size, total;
	} cases[] = {
		{ 16, 1 << 20 },    { 64, 2 << 20 },     { 256, 4 << 20 },
		{ 4096, 16 << 20 }, { 65536, 32 << 20 }, { 1 << 20, 32 << 20 },
	};
	enum { REPS = 9, SLICES = 16 };
	struct file *fd = filp_open(dev, O_RDONLY, 0);
	struct file *fr = filp_open(ref, O_RDONLY, 0);
	char *buf = kvmalloc(1 << 20, GFP_KERNEL);
	int ret = -EAGAIN;

	if (IS_ERR(fd) || IS_ERR(fr)) {
		pr_err("read_bench: cannot open %s and %s\n", dev, ref);
		ret = -ENODEV;
		goto out;
	}
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	for (int c = 0; c < ARRAY_SIZE(cases); c++) {
		size_t size = cases[c].size, slice = cases[c].total / SLICES;
		u64 ratio[REPS], td_all = 0, tr_all = 0, reads = cases[c].total / size;

		timed(fd, buf, size, size);
		timed(fr, buf, size, size);
		for (int r = 0; r < REPS; r++) {
			u64 td = 0, tr = 0, a, b;

			/* Short alternating slices: a load change hits both alike. */
			for (int s = 0; s < SLICES; s++) {
				a = timed(fd, buf, size, slice);
				b = timed(fr, buf, size, slice);
				if (!a || !b) {
					pr_err("read_bench: short read of %zu bytes\n", size);
					ret = -EIO;
					goto out;
				}
				td += a;
				tr += b;
			}
			ratio[r] = tr * 1000 / td;
			td_all += td;
			tr_all += tr;
		}
		sort(ratio, REPS, sizeof(u64), cmp_u64, NULL);
		pr_info("read_bench: read=%zu %s=%lluns %s=%lluns ratio=%llu.%03llu (min %llu.%03llu max %llu.%03llu)\n",
			size, dev, td_all / (REPS * reads), ref, tr_all / (REPS * reads),
			ratio[REPS / 2] / 1000, ratio[REPS / 2] % 1000, ratio[0] / 1000,
			ratio[0] % 1000, ratio[REPS - 1] / 1000, ratio[REPS - 1] % 1000);
	}
out:
	kvfree(buf);
	if (!IS_ERR(fd))
		filp_close(fd, NULL);
	if (!IS_ERR(fr))
		filp_close(fr, NULL);
	return ret;
}
module_init(read_bench_init);

MODULE_DESCRIPTION("Side-by-side kernel_read() throughput of two devices");
MODULE_LICENSE("GPL");
