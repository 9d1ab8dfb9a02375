// SPDX-License-Identifier: GPL-2.0

//! `/dev/rust-sample`: random bytes from the kernel's CRNG, read like `/dev/random`.
//!
//! Until the CRNG is initialised a read waits for it (`EAGAIN` if it may not block); then it
//! behaves as urandom's `get_random_bytes_user()` in `drivers/char/random.c`: a fault part-way
//! returns the bytes copied so far (`EFAULT` only when nothing was), a pending signal ends a
//! long read with a short count, and buffers are wiped. Writes are mixed into the pool without
//! crediting entropy. The misc-device abstraction has no `splice_read` or `llseek`: `splice(2)`
//! and `sendfile(2)` fail with `EINVAL`, `lseek(2)` with `ESPIPE`.

use core::mem::{size_of, size_of_val};
use kernel::{
    bindings, c_str,
    error::to_result,
    fs::{File, Kiocb},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    page::PAGE_SIZE,
    prelude::*,
    transmute::AsBytes,
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
/// Writes are mixed into the pool in blocks of this many words, as urandom's are.
const WRITE_WORDS: usize = 8;

#[pin_data]
struct RustSampleModule {
    #[pin]
    _dev: Registration,
}

impl kernel::InPlaceModule for RustSampleModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let name = c_str!("rust-sample");
        try_pin_init!(Self {
            _dev <- Registration::register(MiscDeviceOptions { name }),
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
        wait_for_crng(&kiocb)?;
        let words = iov.len().div_ceil(size_of::<u64>());
        let mut stack = [0u64; STACK_WORDS];
        let mut heap;
        let buf = match stack.get_mut(..words) {
            Some(buf) => buf,
            None => {
                heap = KVec::from_elem(0u64, words.min(PAGE_WORDS), GFP_KERNEL)?;
                &mut heap[..]
            }
        };
        read_random(iov, buf)
    }

    fn write_iter(_kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let mut block = [0u64; WRITE_WORDS];
        let mut mixed = 0;
        while !iov.is_empty() {
            if mixed > 0 && mixed % PAGE_SIZE == 0 && !may_continue() {
                break;
            }
            let copied = iov.copy_from_iter(AsBytes::as_bytes_mut(&mut block));
            mix_into_pool(AsBytes::as_bytes(&block).get(..copied).unwrap_or_default());
            mixed += copied;
            if copied < size_of_val(&block) {
                break;
            }
        }
        wipe(&mut block);
        copied_or_fault(mixed, iov.len())
    }
}

/// Before the CRNG is initialised, waits for it as `/dev/random` does, or fails with `EAGAIN`
/// when the file is non-blocking.
fn wait_for_crng(kiocb: &Kiocb<'_, ()>) -> Result {
    let raw = kiocb.as_raw();
    // SAFETY: `raw` is the request of the read in progress and `ki_filp` its open file, both
    // valid for the call. `rng_is_initialized()` has no preconditions.
    let (flags, ready) = unsafe { ((*(*raw).ki_filp).f_flags, bindings::rng_is_initialized()) };
    if ready {
        Ok(())
    } else if flags & bindings::O_NONBLOCK != 0 {
        Err(EAGAIN)
    } else {
        // SAFETY: A read runs in process context, where sleeping is allowed.
        to_result(unsafe { bindings::wait_for_random_bytes() })
    }
}

/// Copies random bytes to `iov` through `buf`, refilled for each chunk, and wipes `buf`.
fn read_random(iov: &mut IovIterDest<'_>, buf: &mut [u64]) -> Result<usize> {
    let wanted = iov.len();
    let mut copied = 0;
    while !iov.is_empty() {
        // Only a page-sized buffer takes more than one chunk.
        if copied > 0 && !may_continue() {
            break;
        }
        let bytes = AsBytes::as_bytes_mut(buf);
        let len = iov.len().min(bytes.len());
        let Some(chunk) = bytes.get_mut(..len) else {
            break;
        };
        fill_random(chunk);
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
    // `__cond_resched()`, behind the `cond_resched()` macro, is absent from fully preemptible
    // kernels, which need no reschedule point.
    #[cfg(any(not(CONFIG_PREEMPTION), CONFIG_PREEMPT_DYNAMIC))]
    // SAFETY: Called from process context with no locks held, where sleeping is allowed.
    unsafe {
        bindings::__cond_resched()
    };
    true
}

/// Fills `buf` from the kernel's CRNG.
fn fill_random(buf: &mut [u8]) {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes; `get_random_bytes()` writes that
    // many and may be called from any context.
    unsafe { bindings::get_random_bytes(buf.as_mut_ptr().cast(), buf.len()) };
}

/// Mixes `buf` into the entropy pool without crediting entropy, as writes to urandom do.
fn mix_into_pool(buf: &[u8]) {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes, which is all that
    // `add_device_randomness()` reads; it may be called from any context.
    unsafe { bindings::add_device_randomness(buf.as_ptr().cast(), buf.len()) };
}

/// Zeroes `buf` with stores the compiler cannot elide, so random bytes do not outlive the call
/// (the `memzero_explicit()` of `drivers/char/random.c`).
fn wipe(buf: &mut [u64]) {
    for word in buf {
        // SAFETY: `word` is a valid, aligned and exclusive reference.
        unsafe { core::ptr::write_volatile(word, 0) };
    }
}

#[cfg(not(rust_sample_own_fops))]
type Registration = MiscDeviceRegistration<RustSample>;
// Before Linux 7.3 the abstraction leaves `fops.owner` unset: see `own_fops.rs`.
#[cfg(rust_sample_own_fops)]
mod own_fops;
#[cfg(rust_sample_own_fops)]
use own_fops::Registration;

/// Runs when the module loads into a kernel with `CONFIG_KUNIT`.
#[kunit_tests(rust_sample)]
mod tests {
    use super::*;

    #[test]
    fn wipe_zeroes_every_word() {
        let mut buf = [u64::MAX; 5];
        wipe(&mut buf[1..4]);
        assert_eq!(buf, [u64::MAX, 0, 0, 0, u64::MAX]);
    }

    #[test]
    fn fill_random_gives_fresh_bytes() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        fill_random(&mut a);
        fill_random(&mut b);
        assert!(a != b && a.iter().any(|&x| x != a[0]));
    }

    #[test]
    fn empty_transfers_are_no_fault() {
        assert_eq!(copied_or_fault(0, 0), Ok(0));
        assert_eq!(copied_or_fault(0, 1), Err(EFAULT));
        assert_eq!(copied_or_fault(3, 1), Ok(3));
    }
}
