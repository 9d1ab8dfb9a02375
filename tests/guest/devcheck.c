// SPDX-License-Identifier: GPL-2.0
/*
 * devcheck: in-guest checks and benchmark for /dev/rust-sample.
 *
 *   devcheck sizes DEV       read sizes 0..1 MiB each return exactly what was asked
 *   devcheck fault DEV       partial count into a half-unmapped buffer, EFAULT when unmapped
 *   devcheck signal DEV      a huge read interrupted by a signal returns a short count, promptly
 *   devcheck threads DEV     concurrent readers all get full, distinct reads
 *   devcheck write DEV       writes are accepted like urandom's
 *   devcheck stats DEV       FIPS 140-2 and NIST SP 800-22 checks on >= 1 MiB
 *   devcheck nowait DEV [W]  preadv2/pwritev2 with RWF_NOWAIT, on DEV and on urandom; W is
 *                            "bytes" (served, as urandom, the default) or "EOPNOTSUPP"
 *   devcheck bench DEV REF   throughput of DEV against REF, side by side, as ratios, and
 *                            of ChaCha20 in this program: the CRNG's own limit
 *
 * For the debug kernel (KASAN, lockdep, kmemleak, failslab):
 *   devcheck race DEV N      N unload/load cycles of rust_sample while readers open,
 *                            read and close in a loop on every CPU
 *   devcheck mixed DEV       readers and writers at once on every CPU
 *   devcheck failslab DEV    with failslab armed for this task, reads that would
 *                            allocate a buffer still return every byte, and all sizes
 *                            read in full afterwards
 *   devcheck stress DEV N    N random operations on the device in each of four threads
 *                            (read, readv, preadv2, write, splice, sendfile, poll, mmap,
 *                            ioctl, fcntl, lseek, dup, close) on random sizes and
 *                            alignments, some into half-unmapped buffers, while a fifth
 *                            unloads and reloads the module whenever no file is open
 *
 * Exit status 0 when every check passed; each failure is printed as "FAIL: ...".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("FAIL: " __VA_ARGS__);                          \
			printf("\n");                                          \
			failures++;                                            \
		}                                                              \
	} while (0)

static int open_dev(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		printf("FAIL: open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* True when all n bytes are equal: random data of 16+ bytes never is. */
static int constant(const unsigned char *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (p[i] != p[0])
			return 0;
	return 1;
}

/* True when all n bytes are zero. */
static int zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * read(2) reaches a driver's .read when it has one, readv(2) always its
 * .read_iter: the size and fault checks run through both.
 */
static int vectored;

static ssize_t dev_read(int fd, void *buf, size_t n)
{
	struct iovec iov = { .iov_base = buf, .iov_len = n };

	return vectored ? readv(fd, &iov, 1) : read(fd, buf, n);
}

#define HOW (vectored ? "readv" : "read")

static int check_sizes(const char *dev)
{
	/* Both sides of every size where the module changes how it serves a read. */
	static const size_t sizes[] = { 0,   1,   8,   9,   16,   17,   31,   32,   33,
					63,  64,  95,  96,  97,  160,  161,  255,  256,  257,
					4095, 4096, 4097, 1 << 20 };
	int fd = open_dev(dev, O_RDONLY);
	unsigned char *buf = malloc((1 << 20) + 1);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		ssize_t got;

		memset(buf, 0, n + 1);
		got = dev_read(fd, buf, n);
		CHECK(got == (ssize_t)n, "%s(%zu) returned %zd (%s)", HOW, n, got,
		      got < 0 ? strerror(errno) : "short");
		CHECK(buf[n] == 0, "%s(%zu) wrote past the end", HOW, n);
		if (n >= 16)
			CHECK(!constant(buf, n), "%s(%zu) returned constant bytes", HOW, n);
		/* Eight zero bytes at the end: the tail was not filled (chance 2^-64). */
		if (n >= 8)
			CHECK(!zero(buf + n - 8, 8), "%s(%zu) ends in zero bytes", HOW, n);
		printf("%s size %zu: %zd\n", HOW, n, got);
	}
	free(buf);
	close(fd);
	return 0;
}

static int check_fault(const char *dev)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = open_dev(dev, O_RDONLY);
	unsigned char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ssize_t got;

	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	CHECK(munmap(map + page, page) == 0, "munmap: %s", strerror(errno));

	/*
	 * Second page unmapped: the bytes before the hole come back, no error.
	 * Architectures' copy_to_user() may stop a few bytes short of the
	 * fault, and urandom copies 64-byte blocks: allow less than one block.
	 */
	got = dev_read(fd, map, 2 * page);
	CHECK(got > page - 64 && got <= page,
	      "%s into half-unmapped buffer returned %zd (%s), want %ld", HOW, got,
	      got < 0 ? strerror(errno) : "count", page);
	printf("%s half-unmapped: %zd of %ld\n", HOW, got, 2 * page);

	/* Starting mid-page: whatever fits before the hole. */
	got = dev_read(fd, map + 100, 2 * page);
	CHECK(got > page - 100 - 64 && got <= page - 100,
	      "%s at offset 100 returned %zd, want %ld", HOW, got, page - 100);
	printf("%s offset 100, half-unmapped: %zd of %ld\n", HOW, got, 2 * page);

	/* A short read across the hole: at most the 10 bytes before it, or EFAULT. */
	errno = 0;
	got = dev_read(fd, map + page - 10, 64);
	CHECK((got > 0 && got <= 10) || (got == -1 && errno == EFAULT),
	      "%s of 64 bytes 10 before the hole returned %zd (%s)", HOW, got, strerror(errno));
	printf("%s 64 bytes, 10 before the hole: %zd\n", HOW, got);

	/* Nothing mapped: EFAULT. */
	errno = 0;
	got = dev_read(fd, map + page, page);
	CHECK(got == -1 && errno == EFAULT, "%s into unmapped buffer returned %zd errno %d", HOW, got,
	      errno);
	printf("%s unmapped: %zd (%s)\n", HOW, got, strerror(errno));

	munmap(map, page);
	close(fd);
	return 0;
}

static volatile sig_atomic_t signalled;
static double signal_time;

static void on_alarm(int sig)
{
	(void)sig;
	signalled = 1;
	signal_time = now();
}

static int check_signal(const char *dev)
{
	/* 1 GiB in one call, as 1024 iovecs over the same 1 MiB buffer. */
	enum { SEGMENTS = 1024, SEGMENT = 1 << 20 };
	const size_t want = (size_t)SEGMENTS * SEGMENT;
	static struct iovec iov[SEGMENTS];
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 200000 } };
	int fd = open_dev(dev, O_RDONLY);
	unsigned char *buf = malloc(SEGMENT);
	double start, end;
	ssize_t got;

	for (int i = 0; i < SEGMENTS; i++)
		iov[i] = (struct iovec){ .iov_base = buf, .iov_len = SEGMENT };
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	start = now();
	got = readv(fd, iov, SEGMENTS);
	end = now();

	CHECK(signalled, "the 1 GiB read finished before the signal came (%.2f s)", end - start);
	CHECK(got > 0 && (size_t)got < want, "interrupted read returned %zd (%s), want a short count",
	      got, got < 0 ? strerror(errno) : "count");
	if (signalled)
		CHECK(end - signal_time < 0.5, "read returned %.3f s after the signal", end - signal_time);
	printf("interrupted read: %zd bytes, returned %.3f s after the signal\n", got,
	       signalled ? end - signal_time : -1.0);
	free(buf);
	close(fd);
	return 0;
}

#define THREADS 4
#define THREAD_READ 65536

struct reader {
	const char *dev;
	unsigned char buf[THREAD_READ];
	int ok;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	int fd = open(r->dev, O_RDONLY);

	r->ok = fd >= 0;
	for (int i = 0; r->ok && i < 32; i++)
		r->ok = read(fd, r->buf, THREAD_READ) == THREAD_READ;
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int check_threads(const char *dev)
{
	static struct reader readers[THREADS];
	pthread_t tid[THREADS];

	for (int i = 0; i < THREADS; i++) {
		readers[i].dev = dev;
		pthread_create(&tid[i], NULL, reader_main, &readers[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		CHECK(readers[i].ok, "reader %d got a short read or an error", i);
		for (int j = 0; j < i; j++)
			CHECK(memcmp(readers[i].buf, readers[j].buf, THREAD_READ),
			      "readers %d and %d got the same bytes", i, j);
	}
	printf("%d concurrent readers x 32 x %d bytes\n", THREADS, THREAD_READ);
	return 0;
}

static int check_write(const char *dev)
{
	static unsigned char buf[3 * 4096 + 5];
	int fd = open_dev(dev, O_RDWR);
	ssize_t got;

	memset(buf, 0x5a, sizeof(buf));
	got = write(fd, buf, sizeof(buf));
	CHECK(got == (ssize_t)sizeof(buf), "write(%zu) returned %zd (%s)", sizeof(buf), got,
	      got < 0 ? strerror(errno) : "short");
	CHECK(write(fd, buf, 0) == 0, "write(0) did not return 0");
	printf("write: %zd\n", got);
	close(fd);
	return 0;
}

/* ---- Statistical checks -------------------------------------------------- */

static int bit(const unsigned char *p, size_t i)
{
	return (p[i / 8] >> (7 - i % 8)) & 1;
}

/* FIPS 140-2 (section 4.9.1, as first published) on one 20,000-bit sample. */
static int fips_140_2(const unsigned char *p, char *why, size_t whylen)
{
	size_t ones = 0, poker[16] = { 0 }, runs[2][7] = { { 0 } };
	size_t run = 0, longest = 0;
	double x = 0;

	for (size_t i = 0; i < 20000; i++)
		ones += bit(p, i);
	for (size_t i = 0; i < 2500; i++) {
		poker[p[i] >> 4]++;
		poker[p[i] & 15]++;
	}
	for (int i = 0; i < 16; i++)
		x += (double)poker[i] * poker[i];
	x = 16.0 / 5000 * x - 5000;
	for (size_t i = 0; i < 20000; i++) {
		run++;
		if (i == 19999 || bit(p, i + 1) != bit(p, i)) {
			runs[bit(p, i)][run > 6 ? 6 : run]++;
			if (run > longest)
				longest = run;
			run = 0;
		}
	}
	if (ones <= 9725 || ones >= 10275)
		return snprintf(why, whylen, "monobit %zu", ones), 0;
	if (x <= 2.16 || x >= 46.17)
		return snprintf(why, whylen, "poker %.2f", x), 0;
	static const size_t lo[7] = { 0, 2343, 1135, 542, 251, 111, 111 };
	static const size_t hi[7] = { 0, 2657, 1365, 708, 373, 201, 201 };
	for (int b = 0; b < 2; b++)
		for (int len = 1; len <= 6; len++)
			if (runs[b][len] < lo[len] || runs[b][len] > hi[len])
				return snprintf(why, whylen, "runs of %d %d-bits: %zu", len, b,
						runs[b][len]), 0;
	if (longest >= 26)
		return snprintf(why, whylen, "long run %zu", longest), 0;
	return 1;
}

/*
 * NIST SP 800-22 rev1a frequency (2.1) and runs (2.3) tests, and a chi-square
 * test over byte values (255 degrees of freedom), each at alpha = 0.001.
 */
#define ALPHA 0.001
#define CHI2_255_CRITICAL 330.52 /* chi-square(255) upper 0.1% point */

static int sp800_22(const unsigned char *p, size_t nbytes, char *why, size_t whylen)
{
	size_t n = nbytes * 8, ones = 0, v = 1, counts[256] = { 0 };
	double pi, pval, chi2 = 0, expect = nbytes / 256.0;

	for (size_t i = 0; i < n; i++)
		ones += bit(p, i);
	pval = erfc(fabs(2.0 * ones - n) / sqrt(n) / sqrt(2));
	if (pval < ALPHA)
		return snprintf(why, whylen, "SP 800-22 frequency p=%.5f", pval), 0;

	pi = (double)ones / n;
	for (size_t i = 0; i + 1 < n; i++)
		v += bit(p, i) != bit(p, i + 1);
	pval = erfc(fabs(v - 2.0 * n * pi * (1 - pi)) / (2 * sqrt(2.0 * n) * pi * (1 - pi)));
	if (pval < ALPHA)
		return snprintf(why, whylen, "SP 800-22 runs p=%.5f", pval), 0;

	for (size_t i = 0; i < nbytes; i++)
		counts[p[i]]++;
	for (int i = 0; i < 256; i++)
		chi2 += (counts[i] - expect) * (counts[i] - expect) / expect;
	if (chi2 > CHI2_255_CRITICAL)
		return snprintf(why, whylen, "byte chi-square %.1f", chi2), 0;
	printf("stats: ones=%.5f runs=%zu chi2=%.1f\n", pi, v, chi2);
	return 1;
}

static int check_stats(const char *dev)
{
	const size_t n = 1 << 20;
	unsigned char *buf = malloc(n);
	int fd = open_dev(dev, O_RDONLY);
	char why[128];

	/*
	 * A good generator fails a test at alpha = 0.001 once in a thousand
	 * samples; a broken one fails every sample. So a failure is confirmed
	 * on a second, fresh sample before it counts.
	 */
	for (int attempt = 1;; attempt++) {
		int ok;

		CHECK(read(fd, buf, n) == (ssize_t)n, "short read of the 1 MiB sample");
		ok = fips_140_2(buf, why, sizeof(why)) && sp800_22(buf, n, why, sizeof(why));
		if (ok) {
			printf("statistical checks passed on sample %d\n", attempt);
			break;
		}
		printf("sample %d failed: %s\n", attempt, why);
		if (attempt == 2) {
			CHECK(0, "statistical checks failed twice: %s", why);
			break;
		}
	}
	free(buf);
	close(fd);
	return 0;
}

/* ---- Benchmark ----------------------------------------------------------- */

/* Bytes per second reading `total` bytes in `size`-byte reads. */
static double throughput(int fd, unsigned char *buf, size_t size, size_t total)
{
	double start = now();

	for (size_t done = 0; done < total; done += size)
		if (read(fd, buf, size) != (ssize_t)size) {
			printf("FAIL: short read during benchmark\n");
			exit(1);
		}
	return total / (now() - start);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * ChaCha20 blocks as the CRNG makes them (chacha_block_generic() in the
 * kernel): no device can hand out bytes faster than this on one CPU.
 */
#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d)                                                         \
	(a += b, d = ROTL(d ^ a, 16), c += d, b = ROTL(b ^ c, 12), a += b,     \
	 d = ROTL(d ^ a, 8), c += d, b = ROTL(b ^ c, 7))

static void chacha20_block(uint32_t state[16], uint32_t out[16])
{
	uint32_t x[16];

	memcpy(x, state, sizeof(x));
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++)
		out[i] = x[i] + state[i];
	state[12]++;
}

static void bench_chacha20(void)
{
	enum { REPS = 9, BLOCKS = 1 << 16 }; /* 4 MiB a run */
	uint32_t state[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
	uint32_t out[16], sum = 0;
	double mbs[REPS];

	for (int r = 0; r < REPS; r++) {
		double start = now();

		for (int b = 0; b < BLOCKS; b++) {
			chacha20_block(state, out);
			sum ^= out[b % 16]; /* uses every block, so none is optimised away */
		}
		mbs[r] = (double)BLOCKS * sizeof(out) / (now() - start) / 1e6;
	}
	qsort(mbs, REPS, sizeof(double), cmp_double);
	printf("BENCH chacha20 reps=%d %.2fMB/s %.2fns/byte (one CPU, no copy; %08x)\n", REPS,
	       mbs[REPS / 2], 1e3 / mbs[REPS / 2], sum);
}

static int bench(const char *dev, const char *ref)
{
	static const struct {
		size_t size, total;
	} cases[] = {
		{ 16, 1 << 20 },   { 64, 2 << 20 },    { 256, 4 << 20 },
		{ 4096, 16 << 20 }, { 65536, 32 << 20 }, { 1 << 20, 32 << 20 },
	};
	enum { REPS = 9, SLICES = 16 };
	unsigned char *buf = malloc(1 << 20);
	int fd = open_dev(dev, O_RDONLY), rfd = open_dev(ref, O_RDONLY);

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		double a[REPS], b[REPS], ratio[REPS];

		/* Warm up both. */
		throughput(fd, buf, cases[c].size, cases[c].size);
		throughput(rfd, buf, cases[c].size, cases[c].size);
		for (int r = 0; r < REPS; r++) {
			double ta = 0, tb = 0;
			size_t slice = cases[c].total / SLICES;

			/* Short alternating slices: a load change hits both alike. */
			for (int s = 0; s < SLICES; s++) {
				ta += slice / throughput(fd, buf, cases[c].size, slice);
				tb += slice / throughput(rfd, buf, cases[c].size, slice);
			}
			a[r] = cases[c].total / ta;
			b[r] = cases[c].total / tb;
			ratio[r] = a[r] / b[r];
		}
		qsort(a, REPS, sizeof(double), cmp_double);
		qsort(b, REPS, sizeof(double), cmp_double);
		qsort(ratio, REPS, sizeof(double), cmp_double);
		printf("BENCH read=%zu reps=%d %s=%.2fMB/s %s=%.2fMB/s ratio=%.3f (min %.3f max %.3f)\n",
		       cases[c].size, REPS, dev, a[REPS / 2] / 1e6, ref, b[REPS / 2] / 1e6,
		       ratio[REPS / 2], ratio[0], ratio[REPS - 1]);
	}
	free(buf);
	close(fd);
	close(rfd);
	bench_chacha20();
	return 0;
}

/* ---- Debug-kernel checks ------------------------------------------------ */

static volatile int racing;

struct racer {
	const char *dev;
	long reads, absent, failed;
	char why[128];
};

/*
 * Opens, reads and closes until told to stop. While the module is away the
 * node is gone (ENOENT) or has no driver (ENODEV, ENXIO); anything else, or a
 * short read from an open file, is a failure.
 */
static void *racer_main(void *arg)
{
	struct racer *r = arg;
	static __thread unsigned char buf[4096];

	for (long i = 0; racing; i++) {
		size_t len = i % 2 ? sizeof(buf) : 64;
		int fd = open(r->dev, O_RDONLY);
		ssize_t got;

		if (fd < 0) {
			if (errno == ENOENT || errno == ENODEV || errno == ENXIO) {
				r->absent++;
				continue;
			}
			snprintf(r->why, sizeof(r->why), "open: %s", strerror(errno));
			r->failed++;
			continue;
		}
		got = read(fd, buf, len);
		if (got != (ssize_t)len) {
			snprintf(r->why, sizeof(r->why), "read(%zu) returned %zd (%s)", len, got,
				 got < 0 ? strerror(errno) : "short");
			r->failed++;
		} else {
			r->reads++;
		}
		close(fd);
	}
	return NULL;
}

/*
 * Unloads rust_sample unless a file holds it and loads it again: 1 when it
 * did, 0 when the module is busy (refused while open), -1 on any other
 * failure, reported.
 */
static int reload_module(void)
{
	if (syscall(SYS_delete_module, "rust_sample", O_NONBLOCK) != 0) {
		if (errno == EWOULDBLOCK || errno == EAGAIN)
			return 0;
		CHECK(0, "delete_module: %s", strerror(errno));
		return -1;
	}
	if (system("modprobe rust_sample") != 0) {
		CHECK(0, "modprobe failed");
		return -1;
	}
	return 1;
}

static int check_race(const char *dev, int cycles)
{
	enum { RACERS = 2 };
	static struct racer racers[RACERS];
	pthread_t tid[RACERS];
	long busy = 0;
	int done = 0;

	racing = 1;
	for (int i = 0; i < RACERS; i++) {
		racers[i].dev = dev;
		pthread_create(&tid[i], NULL, racer_main, &racers[i]);
	}
	while (done < cycles) {
		int r = reload_module();

		if (r < 0) {
			printf("after %d cycles\n", done);
			break;
		}
		if (r > 0) {
			done++;
			continue;
		}
		/* rmmod refuses while a racer holds the file open: try again. */
		if (++busy > 100000) {
			CHECK(0, "rmmod refused %ld times in a row", busy);
			break;
		}
		usleep(100);
	}
	racing = 0;
	for (int i = 0; i < RACERS; i++) {
		pthread_join(tid[i], NULL);
		CHECK(!racers[i].failed, "racer %d: %ld failures, last: %s", i, racers[i].failed,
		      racers[i].why);
		CHECK(racers[i].reads > 0, "racer %d never read", i);
	}
	printf("%d unload/load cycles; racers read %ld and %ld times, found no device %ld and "
	       "%ld times; rmmod refused %ld times\n",
	       done, racers[0].reads, racers[1].reads, racers[0].absent, racers[1].absent, busy);
	return 0;
}

struct mixer {
	const char *dev;
	int writer, ok;
};

static void *mixer_main(void *arg)
{
	struct mixer *m = arg;
	static __thread unsigned char buf[16384];
	int fd = open(m->dev, m->writer ? O_WRONLY : O_RDONLY);

	m->ok = fd >= 0;
	for (int i = 0; m->ok && i < 64; i++) {
		size_t len = (size_t)1 << (6 + i % 9); /* 64 B to 16 KiB */

		m->ok = (m->writer ? write(fd, buf, len) : read(fd, buf, len)) == (ssize_t)len;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int check_mixed(const char *dev)
{
	enum { MIXERS = 4 };
	static struct mixer mixers[MIXERS];
	pthread_t tid[MIXERS];

	for (int i = 0; i < MIXERS; i++) {
		mixers[i] = (struct mixer){ .dev = dev, .writer = i % 2 };
		pthread_create(&tid[i], NULL, mixer_main, &mixers[i]);
	}
	for (int i = 0; i < MIXERS; i++) {
		pthread_join(tid[i], NULL);
		CHECK(mixers[i].ok, "%s %d got a short count or an error",
		      mixers[i].writer ? "writer" : "reader", i);
	}
	printf("%d readers and %d writers x 64 transfers of 64 B to 16 KiB\n", MIXERS / 2,
	       MIXERS / 2);
	return 0;
}

/*
 * Expects /sys/kernel/debug/failslab set up to fail every slab allocation of
 * tasks that ask for it (task-filter, probability 100, ignore-gfp-wait N).
 * Reads over 256 bytes allocate their buffer; when that fails they go on
 * with the 256-byte stack buffer, as urandom never fails for want of memory.
 */
static int check_failslab(const char *dev)
{
	static unsigned char buf[1 << 20];
	int fd = open_dev(dev, O_RDONLY);
	int ctl = open_dev("/proc/thread-self/make-it-fail", O_WRONLY);
	const size_t sizes[] = { 4096, 257, 256, 1 << 20 };
	ssize_t got[4];
	int err[4];

	/* Fault the buffer in first: only the device's allocations may fail. */
	memset(buf, 0, sizeof(buf));
	/* From here on, every slab allocation of this task fails. */
	if (write(ctl, "1", 1) != 1) {
		CHECK(0, "make-it-fail: %s", strerror(errno));
		return 0;
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		got[i] = read(fd, buf, sizes[i]);
		err[i] = errno;
		/* Eight zero bytes at the end: the tail was not filled (chance 2^-64). */
		if (got[i] == (ssize_t)sizes[i])
			CHECK(!zero(buf + sizes[i] - 8, 8) && !constant(buf, sizes[i]),
			      "read(%zu) under failslab returned zero or constant bytes", sizes[i]);
	}
	if (write(ctl, "0", 1) != 1)
		CHECK(0, "make-it-fail: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		CHECK(got[i] == (ssize_t)sizes[i], "read(%zu) under failslab returned %zd (%s)",
		      sizes[i], got[i], got[i] < 0 ? strerror(err[i]) : "short");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ssize_t n = read(fd, buf, sizes[i]);

		CHECK(n == (ssize_t)sizes[i], "read(%zu) after failslab returned %zd (%s)",
		      sizes[i], n, n < 0 ? strerror(errno) : "short");
	}
	printf("under failslab: reads of 256 B to 1 MiB return every byte; all sizes work "
	       "afterwards\n");
	close(ctl);
	close(fd);
	return 0;
}

/*
 * preadv2(RWF_NOWAIT) and pwritev2(RWF_NOWAIT), as io_uring tries a read
 * inline: urandom serves them (its files carry FMODE_NOWAIT). "bytes" wants
 * the same from DEV; "EOPNOTSUPP" wants the refusal of a file without
 * FMODE_NOWAIT, which the module documents (its open() cannot set it).
 */
static int check_nowait(const char *dev, const char *want)
{
	int bytes = !strcmp(want, "bytes");
	const char *paths[] = { "/dev/urandom", dev };
	unsigned char buf[2][64];

	CHECK(bytes || !strcmp(want, "EOPNOTSUPP"), "unknown expectation %s", want);
	for (int i = 0; i < 2; i++) {
		int fd = open_dev(paths[i], O_RDWR), expect_bytes = i == 0 || bytes;
		struct iovec iov = { .iov_base = buf[i], .iov_len = sizeof(buf[i]) };
		ssize_t got, put;
		int rerr, werr;

		memset(buf[i], 0, sizeof(buf[i]));
		errno = 0;
		got = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
		rerr = errno;
		errno = 0;
		put = pwritev2(fd, &iov, 1, -1, RWF_NOWAIT);
		werr = errno;
		if (expect_bytes) {
			CHECK(got == (ssize_t)sizeof(buf[i]) && !zero(buf[i] + 56, 8),
			      "preadv2(%s, RWF_NOWAIT) returned %zd (%s)", paths[i], got,
			      got < 0 ? strerror(rerr) : "count");
			CHECK(put == (ssize_t)sizeof(buf[i]), "pwritev2(%s, RWF_NOWAIT) returned %zd (%s)",
			      paths[i], put, put < 0 ? strerror(werr) : "count");
		} else {
			CHECK(got == -1 && rerr == EOPNOTSUPP,
			      "preadv2(%s, RWF_NOWAIT) returned %zd (%s), want EOPNOTSUPP", paths[i],
			      got, got < 0 ? strerror(rerr) : "count");
			CHECK(put == -1 && werr == EOPNOTSUPP,
			      "pwritev2(%s, RWF_NOWAIT) returned %zd (%s), want EOPNOTSUPP", paths[i],
			      put, put < 0 ? strerror(werr) : "count");
		}
		printf("%s: preadv2 RWF_NOWAIT %zd (%s), pwritev2 RWF_NOWAIT %zd (%s)\n", paths[i], got,
		       got < 0 ? strerror(rerr) : "bytes", put, put < 0 ? strerror(werr) : "bytes");
		close(fd);
	}
	return 0;
}

/*
 * Random operations on the device from several threads while another unloads
 * and reloads the module whenever no file is open. What the device must do
 * is checked where it is defined (a read into mapped memory is full, one that
 * ends in unmapped memory is partial or EFAULT, splice/sendfile/mmap/ioctl/
 * lseek fail as the abstraction has them); the kernel's sanitizers check the
 * rest.
 */
struct stresser {
	const char *dev;
	long ops, done, reopened, failed;
	unsigned int seed;
	char why[160];
};

static unsigned char *stress_area; /* two pages, the second unmapped */

#define STRESS_FAIL(st, ...)                                                   \
	do {                                                                   \
		snprintf((st)->why, sizeof((st)->why), __VA_ARGS__);           \
		(st)->failed++;                                                \
	} while (0)

static void stress_one(struct stresser *st, int *fd, unsigned char *buf)
{
	long page = sysconf(_SC_PAGESIZE);
	int op = rand_r(&st->seed) % 16;
	size_t len = rand_r(&st->seed) % 3 ? rand_r(&st->seed) % 300 : rand_r(&st->seed) % 70000;
	unsigned char *p = buf + rand_r(&st->seed) % 64;
	struct iovec iov[2] = { { p, len / 2 }, { p + len / 2, len - len / 2 } };
	size_t tail = rand_r(&st->seed) % 200 + 1;
	int pipefd[2], nfd;
	ssize_t got;

	switch (op) {
	case 0: case 1: case 2: /* read, readv, preadv2 into mapped memory: full */
		got = op == 0 ? read(*fd, p, len)
		    : op == 1 ? readv(*fd, iov, 2)
			      : preadv2(*fd, iov, 2, -1, RWF_HIPRI);
		if (got != (ssize_t)len)
			STRESS_FAIL(st, "op %d: read(%zu) returned %zd (%s)", op, len, got,
				    got < 0 ? strerror(errno) : "short");
		break;
	case 3: /* a read that ends in the unmapped page: partial, or EFAULT */
		got = read(*fd, stress_area + page - tail, tail + len % 100);
		if (!(got == (ssize_t)tail || (got >= 0 && got < (ssize_t)tail) ||
		      (got < 0 && errno == EFAULT)))
			STRESS_FAIL(st, "read across unmapped page returned %zd (%s)", got,
				    got < 0 ? strerror(errno) : "count");
		break;
	case 4: /* write: accepted whole */
		got = write(*fd, p, len);
		if (got != (ssize_t)len)
			STRESS_FAIL(st, "write(%zu) returned %zd (%s)", len, got,
				    got < 0 ? strerror(errno) : "short");
		break;
	case 5: /* splice and sendfile: the abstraction has no splice_read */
		if (pipe(pipefd) == 0) {
			got = splice(*fd, NULL, pipefd[1], NULL, len % 4096 + 1, 0);
			if (got >= 0 || errno != EINVAL)
				STRESS_FAIL(st, "splice returned %zd (%s), want EINVAL", got,
					    got < 0 ? strerror(errno) : "count");
			got = sendfile(pipefd[1], *fd, NULL, len % 4096 + 1);
			if (got >= 0 || errno != EINVAL)
				STRESS_FAIL(st, "sendfile returned %zd (%s), want EINVAL", got,
					    got < 0 ? strerror(errno) : "count");
			close(pipefd[0]);
			close(pipefd[1]);
		}
		break;
	case 6: { /* poll: always ready */
		struct pollfd pfd = { .fd = *fd, .events = POLLIN | POLLOUT };

		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
			STRESS_FAIL(st, "poll: revents %#x", pfd.revents);
		break;
	}
	case 7: /* mmap: no mmap file operation */
		if (mmap(NULL, page, PROT_READ, MAP_PRIVATE, *fd, 0) != MAP_FAILED ||
		    errno != ENODEV)
			STRESS_FAIL(st, "mmap did not fail with ENODEV");
		break;
	case 8: /* ioctl: none */
		if (ioctl(*fd, rand_r(&st->seed), p) != -1 || errno != ENOTTY)
			STRESS_FAIL(st, "ioctl did not fail with ENOTTY");
		break;
	case 9: /* O_NONBLOCK on and off: the CRNG is ready, reads never block */
		fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) ^ O_NONBLOCK);
		break;
	case 10: /* lseek: no llseek */
		if (lseek(*fd, len, SEEK_SET) != -1 || errno != ESPIPE)
			STRESS_FAIL(st, "lseek did not fail with ESPIPE");
		break;
	case 11: /* a duplicate reads the same file, then closes */
		nfd = dup(*fd);
		if (nfd < 0 || read(nfd, p, 64) != 64)
			STRESS_FAIL(st, "dup/read: %s", strerror(errno));
		if (nfd >= 0)
			close(nfd);
		break;
	default: /* close, wait a little (the module may go), reopen */
		close(*fd);
		usleep(rand_r(&st->seed) % 3000);
		while ((*fd = open(st->dev, O_RDWR)) < 0) {
			if (errno != ENOENT && errno != ENODEV && errno != ENXIO) {
				STRESS_FAIL(st, "open: %s", strerror(errno));
				return;
			}
			usleep(50);
		}
		st->reopened++;
		break;
	}
	st->done++;
}

static void *stresser_main(void *arg)
{
	struct stresser *st = arg;
	unsigned char *buf = malloc(70000 + 64);
	sigset_t all;
	int fd;

	/*
	 * A pending signal (SIGCHLD from the reloads' modprobe) rightly ends a
	 * transfer of more than a page early, as it does on urandom. Leave
	 * signals to the main thread, so that every transfer here must be full.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while ((fd = open(st->dev, O_RDWR)) < 0)
		usleep(50);
	while (st->done < st->ops && !st->failed)
		stress_one(st, &fd, buf);
	close(fd);
	free(buf);
	return NULL;
}

static int check_stress(const char *dev, long ops)
{
	enum { STRESSERS = 4 };
	static struct stresser st[STRESSERS];
	pthread_t tid[STRESSERS];
	long page = sysconf(_SC_PAGESIZE), reloads = 0, active;
	unsigned int seed = time(NULL);

	stress_area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	munmap(stress_area + page, page);
	printf("seed %u\n", seed);
	for (int i = 0; i < STRESSERS; i++) {
		st[i] = (struct stresser){ .dev = dev, .ops = ops, .seed = seed + i };
		pthread_create(&tid[i], NULL, stresser_main, &st[i]);
	}
	do {
		/* Refused while any file is open: that is most of the time. */
		int r = reload_module();

		if (r < 0) {
			printf("after %ld reloads\n", reloads);
			break;
		}
		if (r > 0)
			reloads++;
		else
			usleep(200);
		active = 0;
		for (int i = 0; i < STRESSERS; i++)
			active += st[i].done < st[i].ops && !st[i].failed;
	} while (active);
	for (int i = 0; i < STRESSERS; i++) {
		pthread_join(tid[i], NULL);
		CHECK(!st[i].failed, "thread %d: %s", i, st[i].why);
	}
	printf("%d threads x %ld random operations (seed %u): %ld reopens, %ld module reloads\n",
	       STRESSERS, ops, seed, st[0].reopened + st[1].reopened + st[2].reopened +
	       st[3].reopened, reloads);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *dev = argc > 2 ? argv[2] : "/dev/rust-sample";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "sizes"))
		for (vectored = 0; vectored < 2; vectored++)
			check_sizes(dev);
	else if (!strcmp(cmd, "fault"))
		for (vectored = 0; vectored < 2; vectored++)
			check_fault(dev);
	else if (!strcmp(cmd, "signal"))
		check_signal(dev);
	else if (!strcmp(cmd, "threads"))
		check_threads(dev);
	else if (!strcmp(cmd, "write"))
		check_write(dev);
	else if (!strcmp(cmd, "stats"))
		check_stats(dev);
	else if (!strcmp(cmd, "bench") && argc > 3)
		bench(dev, argv[3]);
	else if (!strcmp(cmd, "race") && argc > 3)
		check_race(dev, atoi(argv[3]));
	else if (!strcmp(cmd, "mixed"))
		check_mixed(dev);
	else if (!strcmp(cmd, "failslab"))
		check_failslab(dev);
	else if (!strcmp(cmd, "nowait"))
		check_nowait(dev, argc > 3 ? argv[3] : "bytes");
	else if (!strcmp(cmd, "stress") && argc > 3)
		check_stress(dev, atol(argv[3]));
	else {
		fprintf(stderr, "usage: devcheck sizes|fault|signal|threads|write|stats DEV\n"
				"       devcheck bench DEV REF\n"
				"       devcheck race DEV CYCLES | mixed DEV | failslab DEV\n"
				"       devcheck stress DEV OPS | nowait DEV [bytes|EOPNOTSUPP]\n");
		return 2;
	}
	return failures ? 1 : 0;
}
