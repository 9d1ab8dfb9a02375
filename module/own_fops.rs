// SPDX-License-Identifier: GPL-2.0

//! The misc-device registration of kernels before Linux 7.3, whose abstraction leaves
//! `fops.owner` unset: `rmmod` would succeed while the device is open and the next `close()` would
//! run freed code. `Kbuild` builds this file only for such kernels (it probes the tree, so that
//! backports count). It registers a copy of the abstraction's file operations with `owner` set;
//! delete it once the oldest supported kernel is 7.3.

use super::RustSample;
use core::{
    mem::{align_of, size_of},
    sync::atomic::{AtomicBool, Ordering},
};
use kernel::{
    bindings,
    error::to_result,
    miscdevice::{MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
    types::Opaque,
};

// The abstraction's `open()` requires the file to be "associated with a
// `MiscDeviceRegistration<T>`": it casts the registered `miscdevice` to one. `misc` below is
// that `miscdevice`, so the registration must be nothing more.
const _: () = assert!(
    size_of::<MiscDeviceRegistration<RustSample>>() == size_of::<bindings::miscdevice>()
        && align_of::<MiscDeviceRegistration<RustSample>>() == align_of::<bindings::miscdevice>()
);

/// The file operations with `owner` set. Open files point at them (`f_op`) until they close,
/// and `misc_deregister()` does not wait for that, so they cannot live in the `Registration`:
/// they are a static of the module, which `owner` keeps loaded while any file is open.
static FOPS: Fops = Fops(Opaque::uninit());
/// Set by the one `register()` that writes `FOPS`.
static FOPS_WRITTEN: AtomicBool = AtomicBool::new(false);

struct Fops(Opaque<bindings::file_operations>);

// SAFETY: Only the `register()` that sets `FOPS_WRITTEN` writes the fields, once, before
// `misc_register()` publishes them; from then on they are immutable, and the VFS reads them
// through `f_op` from any thread without a lock.
unsafe impl Sync for Fops {}

#[pin_data(PinnedDrop)]
pub(crate) struct Registration {
    #[pin]
    misc: Opaque<bindings::miscdevice>,
}

// SAFETY: `misc_deregister()` may be called from any thread.
unsafe impl Send for Registration {}

// SAFETY: `Registration` has no methods: Rust code never touches `misc` after `register()`,
// and the kernel reads it under its `misc_mtx`.
unsafe impl Sync for Registration {}

/// Registers the device with file operations whose `owner` is `module`, this module. Fails with
/// `EBUSY` if called a second time: there is one `FOPS`, and open files may be using it.
pub(crate) fn register(
    options: MiscDeviceOptions,
    module: &'static ThisModule,
) -> impl PinInit<Registration, Error> {
    try_pin_init!(Registration {
        misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
            if FOPS_WRITTEN.swap(true, Ordering::Relaxed) {
                return Err(EBUSY);
            }
            let mut raw = options.into_raw::<RustSample>();
            let fops = FOPS.0.get();
            // SAFETY: `raw.fops` points to the abstraction's `'static` file operations. `fops`
            // is valid for writes, and nothing reads it before `misc_register()` below: the
            // flag above lets only this call write it.
            unsafe {
                fops.write(bindings::file_operations {
                    owner: module.as_ptr(),
                    ..*raw.fops
                })
            };
            raw.fops = fops;
            // SAFETY: `slot` is valid for writes, and the `miscdevice` stays pinned until
            // `drop()` deregisters it.
            unsafe { slot.write(raw) };
            // SAFETY: `slot` holds a valid, pinned `miscdevice` whose file operations are the
            // abstraction's for `RustSample`, as its `open()` requires (see the assert above),
            // with `owner` set.
            to_result(unsafe { bindings::misc_register(slot) })
        }),
    })
}

#[pinned_drop]
impl PinnedDrop for Registration {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `misc` was registered by `register()`, the only way to build a
        // `Registration`.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}
