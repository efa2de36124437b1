//! Calls every function of the SDK once, so that tests/sdk_abi.rs (in the
//! faasm root crate) can check that the crate imports each `env.__faasm_*`
//! function of the ABI with its exact wasm type. Only linked and inspected,
//! never run: the calls sit behind a condition the compiler cannot see
//! through.

use faasm_sdk::state::{self, StatePtr};

extern "C" fn chained() -> i32 {
    0
}

fn main() -> Result<(), faasm_sdk::Error> {
    if std::env::args().count() < 1000 {
        return Ok(());
    }
    let input = faasm_sdk::input();
    faasm_sdk::set_output(&input);
    let a = faasm_sdk::chain("f", &input)?;
    let b = faasm_sdk::chain_fn(chained, &input);
    let _ = (a.wait(), b.output());
    let k = "key";
    let _ = (
        state::size(k)?,
        state::get(k)?,
        state::get_offset(k, 16, 4, 4)?,
    );
    state::set(k, &input)?;
    state::set_offset(k, 16, 4, &input)?;
    state::append(k, &input)?;
    let _ = state::read_appended(k, 8, 2)?;
    state::clear_appended(k)?;
    state::push(k)?;
    state::push_partial(k)?;
    state::pull(k, 16)?;
    {
        let mut whole = StatePtr::map(k, 16)?;
        whole[0] = 1;
        whole.flag_dirty(0..1)?;
        whole.flag_all_dirty();
        whole.push_partial();
        whole.pull();
    }
    let _part = StatePtr::map_range("other", 16, 4..8)?;
    let _locks = (
        state::lock_read(k)?,
        state::lock_write(k)?,
        state::lock_global_read(k)?,
        state::lock_global_write(k)?,
    );
    // The calls the safe API does not wrap (yet), raw.
    let (mut out, mut out_len) = (std::ptr::null_mut(), 0);
    // SAFETY: never runs (see above); the arguments are valid anyway.
    unsafe {
        use faasm_sdk::sys;
        sys::__faasm_await_call_output(b.raw(), &mut out, &mut out_len);
        sys::__faasm_push_state_partial_mask(c"key".as_ptr().cast(), c"mask".as_ptr().cast());
        sys::__faasm_write_state_from_file(c"key".as_ptr().cast(), c"/f".as_ptr().cast());
        sys::__faasm_conf_flag(c"ALWAYS_ON".as_ptr().cast());
        sys::__faasm_backtrace(1);
    }
    Ok(())
}
