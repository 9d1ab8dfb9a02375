// SPDX-License-Identifier: GPL-2.0

//! The misc-device registration of kernels before Linux 7.3, whose abstraction leaves
//! `fops.owner` unset: `rmmod` would succeed while the device is open and the next `close()` would
//! run freed code. `Kbuild` builds this file only for such kernels (it probes the tree, so that
//! backports count). It registers a copy of the abstraction's file operations with `owner` set;
//! delete it once the oldest supported kernel is 7.3.

use super::RustSample;
use core::mem::{align_of, size_of};
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

#[pin_data(PinnedDrop)]
pub(crate) struct Registration {
    #[pin]
    fops: Opaque<bindings::file_operations>,
    #[pin]
    misc: Opaque<bindings::miscdevice>,
}

// SAFETY: `misc_deregister()` may be called from any thread.
unsafe impl Send for Registration {}

// SAFETY: Rust code never touches the fields after `register()`; the kernel reads them under
// its own locking.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers the device with the file operations' `owner` set to this module.
    pub(crate) fn register(opts: MiscDeviceOptions) -> impl PinInit<Self, Error> {
        // The `module!` macro of these kernels defines `THIS_MODULE` at the crate root.
        let module = &super::THIS_MODULE;
        try_pin_init!(&this in Self {
            fops <- Opaque::ffi_init(move |slot: *mut bindings::file_operations| {
                let (fops, owner) = (opts.into_raw::<RustSample>().fops, module.as_ptr());
                // SAFETY: `fops` points to the abstraction's `'static` file operations; `slot` is
                // valid for writes.
                unsafe { slot.write(bindings::file_operations { owner, ..*fops }) };
            }),
            misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                let mut raw = opts.into_raw::<RustSample>();
                // SAFETY: `this` is the `Registration` being initialised; `fops` was initialised
                // above and is pinned with it, so it outlives the registration.
                raw.fops = unsafe { (*this.as_ptr()).fops.get() };
                // SAFETY: `slot` is valid for writes, and the `miscdevice` stays pinned until
                // `drop()` deregisters it.
                unsafe { slot.write(raw) };
                // SAFETY: `slot` holds a valid, pinned `miscdevice`, the file operations of the
                // abstraction for `RustSample`, as its `open()` requires (see the assert above).
                to_result(unsafe { bindings::misc_register(slot) })
            }),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for Registration {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `misc` was registered by `register()`, the only way to build a
        // `Registration`.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}
