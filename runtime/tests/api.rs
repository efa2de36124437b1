//! Host-side API behaviour that needs no compiled code.

use faasm_runtime::*;

fn send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_send_and_sync() {
    send_sync::<Engine>();
    send_sync::<Module>();
    send_sync::<Instance>();
    send_sync::<Func>();
    send_sync::<Memory>();
    send_sync::<Table>();
    send_sync::<Global>();
    send_sync::<Linker>();
    send_sync::<InterruptHandle>();
    send_sync::<Error>();
}

#[test]
fn globals() {
    let g = Global::new(
        GlobalType {
            ty: ValType::I64,
            mutable: true,
        },
        Val::I64(-3),
    )
    .unwrap();
    assert!(matches!(g.get(), Val::I64(-3)));
    g.set(Val::I64(7)).unwrap();
    assert!(matches!(g.get(), Val::I64(7)));
    assert!(matches!(g.set(Val::I32(1)), Err(Error::Usage(_))));
    let c = Global::new(
        GlobalType {
            ty: ValType::F64,
            mutable: false,
        },
        Val::F64(2.5f64.to_bits()),
    )
    .unwrap();
    assert!(matches!(c.set(Val::F64(0)), Err(Error::Usage(_))));
    assert!(
        Global::new(
            GlobalType {
                ty: ValType::I32,
                mutable: false
            },
            Val::I64(0)
        )
        .is_err()
    );
    let v = Global::new(
        GlobalType {
            ty: ValType::V128,
            mutable: true,
        },
        Val::V128(u128::MAX - 1),
    )
    .unwrap();
    assert!(matches!(v.get(), Val::V128(x) if x == u128::MAX - 1));
    let e = Global::new(
        GlobalType {
            ty: ValType::ExternRef,
            mutable: true,
        },
        Val::ExternRef(Some(ExternRef(0))),
    )
    .unwrap();
    assert!(matches!(e.get(), Val::ExternRef(Some(ExternRef(0)))));
    e.set(Val::ExternRef(None)).unwrap();
    assert!(matches!(e.get(), Val::ExternRef(None)));
}

#[test]
fn tables() {
    let t = Table::new(
        TableType {
            elem: ValType::ExternRef,
            min: 2,
            max: Some(4),
        },
        Val::ExternRef(Some(ExternRef(5))),
    )
    .unwrap();
    assert_eq!(t.size(), 2);
    assert!(matches!(t.get(1), Some(Val::ExternRef(Some(ExternRef(5))))));
    assert!(t.get(2).is_none());
    assert_eq!(t.grow(2, Val::ExternRef(None)).unwrap(), 2);
    assert!(t.grow(1, Val::ExternRef(None)).is_err());
    assert!(matches!(t.get(3), Some(Val::ExternRef(None))));
    assert!(t.set(4, Val::ExternRef(None)).is_err());
    assert!(t.set(0, Val::FuncRef(None)).is_err());
    assert_eq!(t.ty().min, 4);
    assert!(
        Table::new(
            TableType {
                elem: ValType::FuncRef,
                min: 3,
                max: Some(2)
            },
            Val::FuncRef(None)
        )
        .is_err()
    );
}

#[test]
fn host_funcs_called_from_rust() {
    let f = Func::new(
        FuncType::new([ValType::I32, ValType::I32], [ValType::I32]),
        |caller, a, r| {
            assert!(caller.memory().is_none());
            let (Val::I32(x), Val::I32(y)) = (&a[0], &a[1]) else {
                unreachable!()
            };
            r[0] = Val::I32(x - y);
            Ok(())
        },
    );
    assert!(matches!(
        f.call(&[Val::I32(5), Val::I32(3)]).unwrap()[..],
        [Val::I32(2)]
    ));
    assert!(matches!(f.call(&[Val::I32(5)]), Err(Error::Usage(_))));
    assert!(matches!(
        f.call(&[Val::I32(5), Val::F32(0)]),
        Err(Error::Usage(_))
    ));
    let bad = Func::new(FuncType::new([], [ValType::I32]), |_, _, r| {
        r[0] = Val::I64(1);
        Ok(())
    });
    assert!(matches!(bad.call(&[]), Err(Error::Trap(_))));
    let exit = Func::new(FuncType::new([], []), |_, _, _| Err(Trap::exit(2)));
    match exit.call(&[]) {
        Err(Error::Trap(t)) => assert_eq!(t.exit_status(), Some(2)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn artifact_loading_rejects_garbage() {
    let engine = Engine::default();
    assert!(matches!(
        Module::from_artifact(&engine, b"not an artifact"),
        Err(Error::Artifact(_))
    ));
    assert!(Module::new(&engine, b"\0asm\x01\0\0\0\x01").is_err());
}
