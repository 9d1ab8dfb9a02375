// SPDX-License-Identifier: GPL-2.0

//! `/dev/rust-sample`: random bytes from the kernel's CRNG, read like `/dev/urandom`.
//!
//! Reads follow `get_random_bytes_user()` in `drivers/char/random.c`: any length works, a fault
//! part-way returns the bytes copied so far (`EFAULT` only when nothing was copied), and long
//! reads stop with a short count at a pending signal, checked once per page together with a
//! reschedule point. Writes are mixed into the pool without crediting entropy, like urandom's.

use core::{
    cmp::min,
    mem::{size_of, MaybeUninit},
};
use kernel::{
    bindings, c_str,
    fs::{File, Kiocb},
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

/// Reads up to this size take the CRNG's per-CPU batched output, eight bytes at a time.
///
/// `get_random_u64()` is, as `drivers/char/random.c` puts it, "as good as /dev/urandom": the
/// same CRNG, refilled on reseed, each value erased as it is handed out. Generating ChaCha blocks
/// only once per 96 bytes makes short reads cheaper than urandom's block per call; each value
/// costs a call with interrupts masked, so from three values on urandom's way is cheaper.
const BATCHED_READ: usize = 16;

/// Bytes of one ChaCha block, the unit the CRNG generates in.
const CHACHA_BLOCK: usize = 64;

/// The bytes `get_random_bytes()` hands out with the key erasure, before any ChaCha block.
const KEY_ERASURE: usize = 32;

/// The longest read served by the key erasure and one ChaCha block.
const SHORT_READ: usize = KEY_ERASURE + CHACHA_BLOCK;

/// Reads up to this size are served in one step from a buffer on the stack; larger ones from a
/// heap buffer of the read's size, up to a page.
///
/// Four ChaCha blocks: an allocation would cost more than the bytes, and the frame stays small.
const STACK_READ: usize = 256;

/// How many bytes `get_random_bytes()` is asked for to serve a read of `len` bytes, from 17 to
/// [`STACK_READ`].
///
/// It hands out 32 bytes with the key erasure, then whole 64-byte ChaCha blocks; a shorter tail
/// costs it a temporary block, a copy and a wipe. Generating the rest of the last block instead
/// is cheaper (64 B reads: 0.96 to 0.99 of urandom's speed on arm64), and the spare bytes are
/// wiped with the rest.
const fn generated_len(len: usize) -> usize {
    // 17 to 32 bytes take the key erasure's 32, which cost the same.
    KEY_ERASURE + (len + KEY_ERASURE - 1) / CHACHA_BLOCK * CHACHA_BLOCK
}

/// Writes are mixed into the pool one ChaCha block at a time, as urandom does.
const WRITE_BLOCK: usize = CHACHA_BLOCK;

#[pin_data]
struct RustSampleModule {
    #[pin]
    _dev: Registration,
}

impl kernel::InPlaceModule for RustSampleModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let opts = MiscDeviceOptions {
            name: c_str!("rust-sample"),
        };
        try_pin_init!(Self {
            _dev <- register(opts, module),
        })
    }
}

struct RustSample;

/// Where a read's bytes go: the `iov_iter` of `read_iter()` or the user buffer of `read()`.
trait ReadSink {
    /// How many bytes are still wanted.
    fn wanted(&self) -> usize;

    /// Copies `bytes` and returns how many were copied: fewer after a fault.
    fn copy(&mut self, bytes: &[u8]) -> usize;
}

impl ReadSink for IovIterDest<'_> {
    #[inline(always)]
    fn wanted(&self) -> usize {
        self.len()
    }

    #[inline(always)]
    fn copy(&mut self, bytes: &[u8]) -> usize {
        self.copy_to_iter(bytes)
    }
}

/// The user buffer of a `read(2)`: `len` bytes at the user address `ptr`.
struct UserBuffer {
    ptr: *mut u8,
    len: usize,
}

impl ReadSink for UserBuffer {
    #[inline(always)]
    fn wanted(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn copy(&mut self, bytes: &[u8]) -> usize {
        let n = min(bytes.len(), self.len);
        // SAFETY: `bytes` is valid for reads of `n` bytes. `_copy_to_user` checks that the
        // destination is user memory and stops at the first fault, so any `ptr` is allowed.
        let left = unsafe { bindings::_copy_to_user(self.ptr.cast(), bytes.as_ptr().cast(), n) };
        let copied = n - min(left, n);
        self.ptr = self.ptr.wrapping_add(copied);
        self.len -= copied;
        copied
    }
}

/// The stack buffer of short reads, in 32-byte units of words.
///
/// Batched values are stored a word at a time and the wipe is four word stores per unit, with no
/// loop per byte or per word: measurable on short reads (riscv64: 16 B 1.14 to 1.18 and 64 B 0.96
/// to 0.97 of urandom's speed).
#[repr(transparent)]
struct StackBlock([MaybeUninit<[u64; 4]>; STACK_UNITS]);

/// Bytes per unit of the stack buffer.
const UNIT: usize = size_of::<[u64; 4]>();

/// Units in the stack buffer: the most any short read generates.
const STACK_UNITS: usize = generated_len(STACK_READ).div_ceil(UNIT);

impl StackBlock {
    fn new() -> Self {
        Self([MaybeUninit::uninit(); STACK_UNITS])
    }

    /// Copies `len` random bytes, at most [`BATCHED_READ`], from the CRNG's per-CPU batch to
    /// `sink` and returns how many were copied. Wipes what it used of the buffer.
    #[inline(always)]
    fn copy_batched(&mut self, sink: &mut impl ReadSink, len: usize) -> usize {
        let copied = sink.copy(self.fill_batched(len));
        self.wipe_units::<{ BATCHED_READ.div_ceil(UNIT) }>();
        copied
    }

    /// Fills the first `len` bytes, at most [`BATCHED_READ`], from the CRNG's per-CPU batch a
    /// whole word at a time and returns them.
    #[inline(always)]
    fn fill_batched(&mut self, len: usize) -> &[u8] {
        let len = min(len, BATCHED_READ);
        let words = self.0.as_mut_ptr().cast::<u64>();
        for i in 0..len.div_ceil(size_of::<u64>()) {
            // SAFETY: `i` is below `BATCHED_READ / 8`, so `words.add(i)` is in the buffer and
            // aligned. `get_random_u64` has no preconditions and may be called from any context.
            unsafe { words.add(i).write(bindings::get_random_u64()) };
        }
        // SAFETY: The first `len` bytes, and more up to a whole word, were written just above.
        unsafe { core::slice::from_raw_parts(words.cast::<u8>(), len) }
    }

    /// Copies `len` random bytes to `sink` from `generated` ones (at most `UNITS` units and at
    /// least `len`) made in one call to the kernel's CRNG, and returns how many were copied.
    /// Wipes the first `UNITS` units of the buffer.
    #[inline(always)]
    fn copy_random<const UNITS: usize>(
        &mut self,
        sink: &mut impl ReadSink,
        len: usize,
        generated: usize,
    ) -> usize {
        // Constant or range-checked by the caller: the compiler drops these `min`s.
        let generated = min(generated, min(UNITS, STACK_UNITS) * UNIT);
        let len = min(len, generated);
        let bytes = self.0.as_mut_ptr().cast::<u8>();
        // SAFETY: `generated` is at most the size of the buffer, so `bytes` is valid for writes
        // of that many bytes; `get_random_bytes` may be called from any context and writes
        // exactly that many.
        unsafe { bindings::get_random_bytes(bytes.cast(), generated) };
        // SAFETY: The first `len <= generated` bytes were written just above.
        let copied = sink.copy(unsafe { core::slice::from_raw_parts(bytes, len) });
        self.wipe_units::<UNITS>();
        copied
    }

    /// Zeroes the first `UNITS` units (all of them if there are fewer), in a way the compiler
    /// cannot elide and without a loop.
    #[inline(always)]
    fn wipe_units<const UNITS: usize>(&mut self) {
        for unit in self.0.iter_mut().take(UNITS) {
            wipe_unit(unit);
        }
    }
}

/// Zeroes one unit of the stack buffer in a way the compiler cannot elide.
#[inline(always)]
fn wipe_unit(unit: &mut MaybeUninit<[u64; 4]>) {
    let words = unit.as_mut_ptr().cast::<u64>();
    for i in 0..UNIT / size_of::<u64>() {
        // SAFETY: `words.add(i)` is an aligned word inside `unit`, which is exclusively borrowed;
        // writing an initialised value into `MaybeUninit` memory is sound.
        unsafe { core::ptr::write_volatile(words.add(i), 0) };
    }
}

#[vtable]
impl MiscDevice for RustSample {
    type Ptr = ();

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result {
        pr_debug!("opened\n");
        Ok(())
    }

    // Inlined into the abstraction's callback: one call and return fewer per read, which is
    // measurable for short reads (64 B: arm64 0.986 to 1.002 of urandom's speed).
    #[inline(always)]
    fn read_iter(_kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        read(iov)
    }

    fn write_iter(_kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        if iov.is_empty() {
            return Ok(0);
        }
        let mut block = [0u8; WRITE_BLOCK];
        let mut mixed = 0;
        loop {
            // Never more than asked for; `min` lets the compiler drop the panicking bounds check.
            let copied = min(iov.copy_from_iter(&mut block), WRITE_BLOCK);
            mix_into_pool(&block[..copied]);
            mixed += copied;
            if iov.is_empty() || copied != block.len() {
                break;
            }
            if mixed % PAGE_SIZE == 0 && !may_continue() {
                break;
            }
        }
        wipe(&mut block);
        if mixed == 0 {
            Err(EFAULT)
        } else {
            Ok(mixed)
        }
    }
}

/// Serves a read of `sink.wanted()` bytes, for `read_iter()` and `read()` alike.
#[inline(always)]
fn read(sink: &mut impl ReadSink) -> Result<usize> {
    let len = sink.wanted();
    // Neither buffer is zeroed first: the CRNG writes every byte before it is read.
    // No loop and no signal check for short reads: urandom checks once per page.
    //
    // Each short path wipes a fixed size, and all but 97 to 256 bytes generate one: under QEMU
    // every branch ends a translation block, which costs more than the few instructions on
    // either side. The commonest short reads, 33 to 96 bytes (the key erasure and one ChaCha
    // block), come first, after one range check.
    let copied = if (KEY_ERASURE + 1..=SHORT_READ).contains(&len) {
        StackBlock::new().copy_random::<{ SHORT_READ / UNIT }>(sink, len, SHORT_READ)
    } else if len == 0 {
        return Ok(0);
    } else if len <= BATCHED_READ {
        StackBlock::new().copy_batched(sink, len)
    } else if len <= KEY_ERASURE {
        StackBlock::new().copy_random::<{ KEY_ERASURE / UNIT }>(sink, len, KEY_ERASURE)
    } else if len <= STACK_READ {
        StackBlock::new().copy_random::<STACK_UNITS>(sink, len, generated_len(len))
    } else {
        let size = min(len, PAGE_SIZE);
        let mut buf = KVec::<u8>::with_capacity(size, GFP_KERNEL)?;
        let first = fill_random_uninit(&mut buf.spare_capacity_mut()[..size]);
        read_random(sink, first)
    };
    if copied == 0 {
        return fault();
    }
    Ok(copied)
}

/// `read(2)`, called by the VFS in preference to `read_iter()`: without the `kiocb` and
/// `iov_iter` set-up and `_copy_to_iter()` of every call (as `read_zero()` beside
/// `read_iter_zero()` for `/dev/zero`), 64-byte reads under QEMU get faster than urandom's.
///
/// # Safety
///
/// Called by the VFS as `file_operations::read`, in process context.
unsafe extern "C" fn read_callback(
    _file: *mut bindings::file,
    buf: *mut kernel::ffi::c_char,
    count: usize,
    _pos: *mut bindings::loff_t,
) -> isize {
    let mut user = UserBuffer {
        ptr: buf.cast(),
        len: count,
    };
    match read(&mut user) {
        Ok(copied) => copied as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// Copies random bytes to `sink` through `buf`, which holds fresh ones on entry and is refilled
/// for each further chunk, and returns how many were copied. Stops early on a fault or, at a page
/// boundary, on a pending signal. Wipes `buf`.
fn read_random(sink: &mut impl ReadSink, buf: &mut [u8]) -> usize {
    let mut copied = 0;
    loop {
        let len = min(sink.wanted(), buf.len());
        let n = sink.copy(&buf[..len]);
        copied += n;
        if sink.wanted() == 0 || n != len {
            break;
        }
        if copied % PAGE_SIZE == 0 && !may_continue() {
            break;
        }
        let next = min(sink.wanted(), buf.len());
        fill_random(&mut buf[..next]);
    }
    wipe(buf);
    copied
}

/// Called once per page of a long transfer: a reschedule point, and `false` when a signal is
/// pending so the caller returns a short count instead of `EINTR`, as urandom does.
fn may_continue() -> bool {
    if kernel::current!().signal_pending() {
        return false;
    }
    reschedule_point();
    true
}

/// `cond_resched()` is a macro over inline functions; `__cond_resched()` is the exported function
/// behind it, present unless the kernel is fully preemptible (where no reschedule point is needed).
fn reschedule_point() {
    #[cfg(any(not(CONFIG_PREEMPTION), CONFIG_PREEMPT_DYNAMIC))]
    // SAFETY: Called from process context with no locks held (read/write paths), where sleeping
    // is allowed.
    unsafe {
        bindings::__cond_resched()
    };
}

/// `EFAULT`, for a read that copied nothing; out of line, so that the copying path runs straight
/// through.
#[cold]
fn fault() -> Result<usize> {
    Err(EFAULT)
}

/// Fills `buf` from the kernel's CRNG.
#[inline]
fn fill_random(buf: &mut [u8]) {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes; `get_random_bytes` may be called
    // from any context and writes exactly that many bytes.
    unsafe { bindings::get_random_bytes(buf.as_mut_ptr().cast(), buf.len()) };
}

/// Fills uninitialised `buf` from the kernel's CRNG and returns it as bytes.
#[inline]
fn fill_random_uninit(buf: &mut [MaybeUninit<u8>]) -> &mut [u8] {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes; `get_random_bytes` may be called
    // from any context and writes exactly that many bytes.
    unsafe { bindings::get_random_bytes(buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: Every byte of `buf` was written just above, and `MaybeUninit<u8>` has the layout
    // of `u8`.
    unsafe { &mut *(core::ptr::from_mut(buf) as *mut [u8]) }
}

/// Mixes `buf` into the entropy pool without crediting entropy, as writes to urandom do.
fn mix_into_pool(buf: &[u8]) {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes; `add_device_randomness` only reads
    // them and may be called from any context.
    unsafe { bindings::add_device_randomness(buf.as_ptr().cast(), buf.len()) };
}

/// Zeroes `buf` in a way the compiler cannot elide, so random bytes do not outlive the call
/// (the `memzero_explicit()` of `drivers/char/random.c`). Word stores keep a page cheap.
fn wipe(buf: &mut [u8]) {
    // SAFETY: Every bit pattern is a valid `u64` and a valid `u8`, so viewing the aligned middle
    // of the byte slice as words is sound.
    let (head, words, tail) = unsafe { buf.align_to_mut::<u64>() };
    for word in words.iter_mut() {
        // SAFETY: `word` is a valid, aligned, exclusive reference.
        unsafe { core::ptr::write_volatile(word, 0) };
    }
    for byte in Iterator::chain(head.iter_mut(), tail.iter_mut()) {
        // SAFETY: `byte` is a valid, aligned, exclusive reference.
        unsafe { core::ptr::write_volatile(byte, 0) };
    }
}

/// The misc-device registration: a copy of the abstraction's file operations with two additions,
/// registered by the module itself.
///
/// - `owner`: with it the VFS holds a module reference from `open()` to the last `close()`, so
///   `rmmod` is refused while `/dev/rust-sample` is open. Before Linux 7.3 the abstraction leaves
///   it NULL: `rmmod` would succeed while a file is open and its `close()` would run freed code.
/// - `read`: see [`read_callback`]; the abstraction offers `read_iter` only.
#[pin_data(PinnedDrop)]
struct Registration {
    #[pin]
    fops: kernel::types::Opaque<bindings::file_operations>,
    // Must stay layout-compatible with `MiscDeviceRegistration<RustSample>`, which is
    // `repr(transparent)` over this field: the abstraction's `open()` casts to it.
    #[pin]
    misc: kernel::types::Opaque<bindings::miscdevice>,
}

// SAFETY: `misc_deregister` may be called from any thread, as `MiscDeviceRegistration` relies on.
unsafe impl Send for Registration {}

// SAFETY: Rust code never touches the fields after `register`; the kernel reads them under its own
// locking.
unsafe impl Sync for Registration {}

fn register(
    opts: MiscDeviceOptions,
    module: &'static ThisModule,
) -> impl PinInit<Registration, Error> {
    use kernel::types::Opaque;

    try_pin_init!(&this in Registration {
        fops <- Opaque::ffi_init(move |slot: *mut bindings::file_operations| {
            let raw = opts.into_raw::<RustSample>();
            // SAFETY: `raw.fops` points to the abstraction's `'static` file operations; `slot`
            // is valid for writes.
            unsafe {
                slot.write(bindings::file_operations {
                    owner: module.as_ptr(),
                    read: Some(read_callback),
                    ..*raw.fops
                })
            };
        }),
        misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
            let mut raw = opts.into_raw::<RustSample>();
            // SAFETY: `this` points to the `Registration` being initialised; `fops` was
            // initialised above and is pinned with it, so it outlives the registration.
            raw.fops = unsafe { (*this.as_ptr()).fops.get() };
            // SAFETY: `slot` is valid for writes.
            unsafe { slot.write(raw) };
            // SAFETY: `slot` holds a valid `miscdevice` that stays pinned until `drop` below
            // deregisters it.
            kernel::error::to_result(unsafe { bindings::misc_register(slot) })
        }),
    })
}

#[pinned_drop]
impl PinnedDrop for Registration {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `misc` was registered by `register`, the only way to build a `Registration`.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}

/// Runs when the module loads into a kernel with `CONFIG_KUNIT`; compiled out otherwise.
#[kunit_tests(rust_sample)]
mod tests {
    use super::*;

    #[test]
    fn wipe_zeroes_every_byte() {
        // An odd length at an odd offset covers the unaligned head and tail and the words.
        let mut buf = [0xa5u8; 75];
        wipe(&mut buf[3..]);
        assert!(buf[..3].iter().all(|&b| b == 0xa5));
        assert!(buf[3..].iter().all(|&b| b == 0));
    }

    #[test]
    fn fill_batched_gives_fresh_bytes() {
        // 12 bytes: a whole word and part of the next.
        let (mut a, mut b) = (StackBlock::new(), StackBlock::new());
        let (a, b) = (a.fill_batched(12), b.fill_batched(12));
        assert_eq!(a.len(), 12);
        assert!(a != b);
        assert!(a.iter().any(|&x| x != a[0]));
    }

    /// The bytes of `block`, every one of which must have been written.
    fn bytes(block: &StackBlock) -> &[u8] {
        // SAFETY: The caller wrote every byte of the block.
        unsafe { core::slice::from_raw_parts(block.0.as_ptr().cast(), size_of::<StackBlock>()) }
    }

    #[test]
    fn stack_block_wipes_whole_units() {
        let mut block = StackBlock::new();
        // SAFETY: The block is valid for writes of its size.
        unsafe { core::ptr::write_bytes(block.0.as_mut_ptr(), 0xa5, STACK_UNITS) };
        block.wipe_units::<3>();
        assert!(bytes(&block)[..3 * UNIT].iter().all(|&b| b == 0));
        assert!(bytes(&block)[3 * UNIT..].iter().all(|&b| b == 0xa5));
        block.wipe_units::<STACK_UNITS>();
        assert!(bytes(&block).iter().all(|&b| b == 0));
    }

    #[test]
    fn generated_len_ends_on_a_block() {
        assert_eq!(generated_len(17), 32);
        assert_eq!(generated_len(32), 32);
        assert_eq!(generated_len(33), 96);
        assert_eq!(generated_len(SHORT_READ), 96);
        assert_eq!(generated_len(97), 160);
        assert_eq!(generated_len(STACK_READ), 288);
        assert_eq!(generated_len(STACK_READ), size_of::<StackBlock>());
    }

    #[test]
    fn fill_random_gives_fresh_bytes() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        fill_random(&mut a);
        fill_random(&mut b);
        assert!(a != b);
        assert!(a.iter().any(|&x| x != a[0]));
    }
}
