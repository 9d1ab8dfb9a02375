// SPDX-License-Identifier: GPL-2.0

//! `/dev/rust-sample`: random bytes from the kernel's CRNG, read like `/dev/random`.
//!
//! Until the CRNG is initialised a read waits for it (`EAGAIN` if it may not block); then it
//! behaves as urandom's `get_random_bytes_user()` in `drivers/char/random.c`: a fault part-way
//! returns the bytes copied so far (`EFAULT` only when nothing was), a pending signal ends a
//! long read with a short count, buffers are wiped, and a failed allocation only makes a long
//! read slower, never an error. Writes are mixed into the pool without crediting entropy.
//!
//! What `/dev/random` offers and this device does not, for want of it in the misc-device
//! abstraction (Linux 6.18 to 7.3), each with the kernel change that would let it:
//!
//! - `llseek`: `lseek(2)` fails with `ESPIPE` where urandom returns 0. An `llseek` entry in
//!   `MiscDevice`, or `noop_llseek` by default.
//! - `splice_read`, `splice_write`: `splice(2)` and `sendfile(2)` to or from the device fail
//!   with `EINVAL`, where urandom has `copy_splice_read` and `iter_file_splice_write`. Those two
//!   in the vtable whenever `read_iter` or `write_iter` is given.
//! - `poll`: without it `poll(2)` reports the device readable and writable at once. Before the
//!   CRNG is ready that is wrong: a non-blocking reader that polls gets `EAGAIN` and polls again,
//!   spinning, where urandom's `random_poll()` waits on `crng_init_wait`. It needs a `poll`
//!   method in `MiscDevice` (`kernel::sync::poll::PollTable` exists) and a way for a module to
//!   wait for the CRNG with a poll table: `crng_init_wait` and `execute_with_initialized_rng()`
//!   are not exported.
//! - `fasync`: `O_ASYNC` brings no `SIGIO` when the CRNG becomes ready. A `fasync` entry, and
//!   the same export as for `poll`.
//! - The `RND*` ioctls (`RNDGETENTCNT`, `RNDADDENTROPY`, ...): `ENOTTY`. The abstraction has
//!   `ioctl`, but the ioctls read and credit random.c's entropy count (`input_pool`,
//!   `credit_init_bits()`), which random.c does not export.
//! - `FMODE_NOWAIT`, which `drivers/char/mem.c` sets on urandom's files at open: `preadv2(2)`
//!   with `RWF_NOWAIT` fails with `EOPNOTSUPP` (on urandom it returns the bytes), and io_uring
//!   hands every read to its worker threads instead of completing it inline. `open()` could set
//!   it through the raw `struct file`, but that would be a seventh `unsafe` block here; the
//!   abstraction would need a way to declare it (a `MiscDevice` constant, or a `File` method
//!   for `open()`). `read_iter` already returns `EAGAIN` for `IOCB_NOWAIT` before the CRNG is
//!   ready, as urandom's does.
//!
//! Each `unsafe` block below is a call into C that the kernel crate does not wrap (random.c's
//! exported functions, `__cond_resched()`) or, in one, the raw read of the request's flags that
//! `Kiocb` does not offer.

use core::mem::{size_of, MaybeUninit};
use kernel::{
    bindings, c_str,
    error::to_result,
    fs::{file::flags::O_NONBLOCK, File, Kiocb, LocalFile},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    page::PAGE_SIZE,
    prelude::*,
};

module! {
    type: RustSampleModule,
    name: "rust_sample",
    authors: ["The rustsample developers"],
    description: "Random bytes from the kernel CRNG at /dev/rust-sample",
    license: "GPL",
}

/// Reads of up to this many words use the stack, longer ones a heap buffer of up to a page.
const STACK_WORDS: usize = 32;
const PAGE_WORDS: usize = PAGE_SIZE / size_of::<u64>();
/// Writes are mixed into the pool in blocks of this many bytes, as urandom's are.
const WRITE_BYTES: usize = 64;
/// `IOCB_NOWAIT` (`include/linux/fs.h`) is `RWF_NOWAIT`, 0x8 in `include/uapi/linux/fs.h`;
/// bindgen skips both for their `__force` cast.
const IOCB_NOWAIT: u32 = 0x8;

#[pin_data]
struct RustSampleModule {
    #[pin]
    _dev: Registration,
}

impl kernel::InPlaceModule for RustSampleModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let options = MiscDeviceOptions {
            name: c_str!("rust-sample"),
        };
        try_pin_init!(Self {
            _dev <- register(options, module),
        })
    }
}

struct RustSample;

#[vtable]
impl MiscDevice for RustSample {
    type Ptr = ();

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result {
        Ok(())
    }

    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        if !crng_ready() {
            wait_for_crng(&kiocb)?;
        }
        let words = iov.len().div_ceil(size_of::<u64>());
        // Neither buffer is initialised: `fill_random()` writes every byte that is read.
        let mut stack = [MaybeUninit::<u64>::uninit(); STACK_WORDS];
        let mut heap = if words > STACK_WORDS {
            KVec::<u64>::with_capacity(words.min(PAGE_WORDS), GFP_KERNEL).ok()
        } else {
            None
        };
        let buf = match heap.as_mut() {
            Some(heap) => heap.spare_capacity_mut(),
            // Short reads, and long ones when the allocation failed: those take more chunks, a
            // slower read but never an error, as on urandom, which allocates nothing.
            None => stack.get_mut(..words.min(STACK_WORDS)).unwrap_or_default(),
        };
        read_random(iov, buf)
    }

    fn write_iter(_kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let mut block = [MaybeUninit::<u8>::uninit(); WRITE_BYTES];
        let mut mixed = 0;
        while !iov.is_empty() {
            if mixed > 0 && mixed % PAGE_SIZE == 0 && !may_continue() {
                break;
            }
            let copied = iov.copy_from_iter_raw(&mut block);
            let n = copied.len();
            mix_into_pool(copied);
            mixed += n;
            if n < WRITE_BYTES {
                break;
            }
        }
        wipe(&mut block);
        copied_or_fault(mixed, iov.len())
    }
}

/// Whether the CRNG is initialised: after early boot, the only check a read makes.
fn crng_ready() -> bool {
    // SAFETY: `rng_is_initialized()` has no preconditions.
    unsafe { bindings::rng_is_initialized() }
}

/// Before the CRNG is initialised: `EAGAIN` for a read that may not wait, otherwise waits for
/// it, as `random_read_iter()` does.
#[cold]
fn wait_for_crng(kiocb: &Kiocb<'_, ()>) -> Result {
    let raw = kiocb.as_raw();
    // SAFETY: `raw` is the request of the read in progress, valid for the call, and `ki_flags`
    // belongs to it. `ki_filp` is its open file, which the request holds a reference on for the
    // call; an `fdget_pos()` that did not take `f_pos_lock` can only be this thread's own
    // read(2), as `LocalFile` requires.
    let (ki_flags, file) = unsafe { ((*raw).ki_flags, LocalFile::from_raw_file((*raw).ki_filp)) };
    // `fcntl(F_SETFL)` may change `f_flags` meanwhile: `flags()` reads it once, as READ_ONCE().
    if !may_wait(ki_flags, file.flags()) {
        return Err(EAGAIN);
    }
    // SAFETY: A read that may wait runs in process context, where sleeping is allowed.
    to_result(unsafe { bindings::wait_for_random_bytes() })
}

/// Whether a read may sleep until the CRNG is ready: not when its file is non-blocking, nor
/// when the request may not wait (`IOCB_NOWAIT`: `RWF_NOWAIT`, io_uring's inline attempt) or
/// do I/O (`IOCB_NOIO`).
fn may_wait(ki_flags: c_int, f_flags: u32) -> bool {
    // `ki_flags` is a C `int` of bits: reinterpreting it as unsigned is the intent.
    let ki_flags = ki_flags as u32;
    ki_flags & (IOCB_NOWAIT | bindings::IOCB_NOIO) == 0 && f_flags & O_NONBLOCK == 0
}

/// Copies random bytes to `iov` through `buf`, refilled for each chunk, and wipes `buf`.
fn read_random(iov: &mut IovIterDest<'_>, buf: &mut [MaybeUninit<u64>]) -> Result<usize> {
    let wanted = iov.len();
    let mut copied = 0;
    while !iov.is_empty() {
        // Every page, as urandom: a stack buffer takes several chunks to a page, a heap buffer
        // one.
        if copied > 0 && copied % PAGE_SIZE == 0 && !may_continue() {
            break;
        }
        let chunk = fill_random(buf, iov.len());
        let len = chunk.len();
        let n = iov.copy_to_iter(chunk);
        copied += n;
        if n < len {
            break;
        }
    }
    wipe(buf);
    copied_or_fault(copied, wanted)
}

/// The result of a transfer that moved `done` bytes: `EFAULT` if nothing moved that should have.
fn copied_or_fault(done: usize, left: usize) -> Result<usize> {
    if done == 0 && left > 0 {
        Err(EFAULT)
    } else {
        Ok(done)
    }
}

/// Called once per page of a long transfer: `false` when a signal is pending, so the caller
/// returns a short count instead of `EINTR`, as urandom does; otherwise a reschedule point.
fn may_continue() -> bool {
    if kernel::current!().signal_pending() {
        return false;
    }
    cond_resched();
    true
}

/// What C's `cond_resched()` does, in the one place that decides. The kernel crate has no
/// `cond_resched()` yet: a `rust_helper_cond_resched()` beside `rust_helper_might_resched()` in
/// `rust/helpers/task.c`, wrapped as a safe `kernel::task::cond_resched()`, would replace this
/// function and its `unsafe` block.
fn cond_resched() {
    // First `cond_resched()`'s `__might_resched()` check (with `CONFIG_DEBUG_ATOMIC_SLEEP`), and
    // `might_resched()`, which is the reschedule point of voluntary preemption.
    kernel::task::might_sleep();
    // `__cond_resched()` is what `_cond_resched()` calls without `CONFIG_PREEMPTION`, and what
    // its static call or key calls with `CONFIG_PREEMPT_DYNAMIC` when booted `preempt=none` or
    // `voluntary`. Booted `full` or `lazy`, C's call does nothing where this one still
    // reschedules if the scheduler asked, as full preemption would at the next
    // `preempt_enable()`. Fully preemptible kernels have no `__cond_resched()` and need no
    // reschedule point.
    #[cfg(any(not(CONFIG_PREEMPTION), CONFIG_PREEMPT_DYNAMIC))]
    // SAFETY: Called from process context with no locks held (`might_sleep()` checks that on
    // debug kernels), where sleeping is allowed.
    unsafe {
        bindings::__cond_resched()
    };
}

/// Fills the first `len` bytes of `buf` (all of it if shorter) from the kernel's CRNG and
/// returns them.
fn fill_random(buf: &mut [MaybeUninit<u64>], len: usize) -> &mut [u8] {
    let len = len.min(core::mem::size_of_val(buf));
    let ptr = buf.as_mut_ptr().cast::<u8>();
    // SAFETY: `ptr` is valid for writes of `len` bytes, the size of `buf` at most, and
    // `get_random_bytes()`, which may be called from any context, writes all of them: the slice
    // returned covers only initialised bytes, borrows `buf` exclusively, and `u8` needs no
    // alignment.
    unsafe {
        bindings::get_random_bytes(ptr.cast(), len);
        core::slice::from_raw_parts_mut(ptr, len)
    }
}

/// Mixes `buf` into the entropy pool without crediting entropy, as writes to urandom do.
fn mix_into_pool(buf: &[u8]) {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes, which is all that
    // `add_device_randomness()` reads; it may be called from any context.
    unsafe { bindings::add_device_randomness(buf.as_ptr().cast(), buf.len()) };
}

/// Zeroes `buf` so that random bytes do not outlive the call, as `memzero_explicit()` does in
/// `drivers/char/random.c`, at the same cost: `fill()` compiles to the same `memset()`. The buffer
/// dies right after, so the compiler could drop the zeroing as dead stores, but the buffer's
/// address is then handed to `black_box()`, which rustc (LLVM) compiles to an empty assembly
/// statement that takes that address and clobbers memory: the C `barrier_data()` that
/// `memzero_explicit()` uses. The stores must then happen, and the disassembly shows they do
/// (docs/benchmark.md). The Rust documentation calls `black_box()` a best effort, with no
/// guarantee for other code generators: the kernel crate has no `memzero_explicit()` yet.
fn wipe<T: Copy>(buf: &mut [MaybeUninit<T>]) {
    buf.fill(MaybeUninit::zeroed());
    core::hint::black_box(buf);
}

#[cfg(not(rust_sample_own_fops))]
type Registration = MiscDeviceRegistration<RustSample>;

/// Registers `/dev/rust-sample`. Since Linux 7.3 the abstraction sets the file operations'
/// `owner` itself, to the vtable's `OwnerModule`, which is this module, `module`.
#[cfg(not(rust_sample_own_fops))]
fn register(
    options: MiscDeviceOptions,
    _module: &'static ThisModule,
) -> impl PinInit<Registration, Error> {
    MiscDeviceRegistration::register(options)
}

// Before Linux 7.3 the abstraction leaves `fops.owner` unset: see `own_fops.rs`.
#[cfg(rust_sample_own_fops)]
mod own_fops;
#[cfg(rust_sample_own_fops)]
use own_fops::{register, Registration};

/// Runs when the module loads into a kernel with `CONFIG_KUNIT=y` (not `=m`, and not the kernels
/// of the Buildroot and Yocto builds): the decisions the module makes on its own. What a read or
/// write does with user memory (partial counts, `EFAULT`, a signal mid-read, the stack buffer
/// when allocation fails, the sizes where the buffer changes) needs user memory, signals and
/// fault injection, which the guest suite has: `devcheck sizes`, `fault`, `signal`, `failslab`.
/// Whether the wipe's stores survive is a property of the compiled code, not of a run: the
/// disassembly shows it (docs/benchmark.md).
#[kunit_tests(rust_sample)]
mod tests {
    use super::*;

    #[test]
    fn waits_only_when_allowed() {
        assert!(may_wait(0, 0));
        assert!(!may_wait(0, O_NONBLOCK));
        assert!(!may_wait(IOCB_NOWAIT as c_int, 0));
        assert!(!may_wait(bindings::IOCB_NOIO as c_int, 0));
        // Other request and file flags do not matter.
        assert!(may_wait(
            !((IOCB_NOWAIT | bindings::IOCB_NOIO) as c_int),
            !O_NONBLOCK
        ));
    }

    #[test]
    fn fill_random_fills_what_fits() {
        let mut buf = [MaybeUninit::<u64>::uninit(); 4];
        assert_eq!(fill_random(&mut buf, 13).len(), 13);
        assert_eq!(fill_random(&mut buf, 0).len(), 0);
        assert_eq!(fill_random(&mut buf, 1000).len(), 32);
        assert!(fill_random(&mut buf[..0], 8).is_empty());
    }

    #[test]
    fn empty_transfers_are_no_fault() {
        assert_eq!(copied_or_fault(0, 0), Ok(0));
        assert_eq!(copied_or_fault(0, 1), Err(EFAULT));
        assert_eq!(copied_or_fault(3, 1), Ok(3));
    }
}
