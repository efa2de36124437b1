//! Structured control flow: block, loop, if/else, end, br, br_if, br_table,
//! return, unreachable.

use super::{Translator, block_args};
use crate::CompileError;
use crate::signature::clif_type;
use crate::traps::trap_code;
use cranelift_codegen::ir::{self, Block, InstBuilder, JumpTableData, MemFlagsData, Value, types};
use faasm_abi::{TrapKind, VMOffsets, ValType};
use wasmparser::{BlockType, Operator};

/// Targets a `br_table` without branch values may have and still jump
/// straight to its targets (see `translate_br_table`).
const BR_TABLE_DIRECT_MAX: usize = 64;

#[derive(Debug)]
pub(crate) enum FrameKind {
    Block,
    Loop {
        header: Block,
    },
    /// `else_block` is where the false edge goes; it gets the `if`'s
    /// parameters (the same SSA values, which dominate both arms).
    If {
        else_block: Block,
        else_params: Vec<Value>,
    },
    Else,
}

#[derive(Debug)]
pub(crate) struct Frame {
    pub kind: FrameKind,
    /// Where control continues after `end`; its params are the results.
    pub dest: Block,
    pub num_params: usize,
    pub num_results: usize,
    /// Operand stack height below the frame's parameters.
    pub height: usize,
    /// Whether the frame's start was reachable. Frames opened in dead code
    /// have no blocks of their own.
    pub live: bool,
    /// Some branch targets `dest`.
    pub branched_to: bool,
    /// The address facts of the enclosing scopes (`AddrFacts::mark`):
    /// those recorded inside end with the frame and its `if` arm.
    pub facts_mark: usize,
    /// For a block: how many facts held on every branch to `dest` so far
    /// (`usize::MAX` before the first); those also hold after `end`.
    pub facts_at_branches: usize,
}

impl Frame {
    pub fn block(
        dest: Block,
        num_params: usize,
        num_results: usize,
        height: usize,
        live: bool,
        facts_mark: usize,
    ) -> Frame {
        Frame {
            kind: FrameKind::Block,
            dest,
            num_params,
            num_results,
            height,
            live,
            branched_to: false,
            facts_mark,
            facts_at_branches: usize::MAX,
        }
    }

    /// The block a branch to this frame jumps to, and how many values it takes.
    fn target(&mut self) -> (Block, usize) {
        match self.kind {
            FrameKind::Loop { header } => (header, self.num_params),
            _ => {
                self.branched_to = true;
                (self.dest, self.num_results)
            }
        }
    }
}

impl Translator<'_, '_> {
    fn block_type(&self, ty: BlockType) -> Result<(Vec<ValType>, Vec<ValType>), CompileError> {
        Ok(match ty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![super::valtype(t)?]),
            BlockType::FuncType(i) => {
                let f = &self.env.info.types[i as usize];
                (f.params.clone(), f.results.clone())
            }
        })
    }

    fn block_with_params(&mut self, tys: &[ValType]) -> Block {
        let block = self.b.create_block();
        for t in tys {
            self.b.append_block_param(block, clif_type(*t));
        }
        block
    }

    fn jump_to(&mut self, block: Block, args: &[Value]) {
        self.b.ins().jump(block, &block_args(args));
    }

    pub(super) fn translate_control(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match *op {
            Operator::Block { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                let dest = self.block_with_params(&results);
                let height = self.stack.len() - params.len();
                let mark = self.addr_facts.mark();
                self.control.push(Frame::block(
                    dest,
                    params.len(),
                    results.len(),
                    height,
                    true,
                    mark,
                ));
            }
            Operator::Loop { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                let header = self.block_with_params(&params);
                let dest = self.block_with_params(&results);
                let args = self.popn(params.len());
                self.jump_to(header, &args);
                self.b.switch_to_block(header);
                let height = self.stack.len();
                self.stack.extend_from_slice(self.b.block_params(header));
                self.control.push(Frame {
                    kind: FrameKind::Loop { header },
                    dest,
                    num_params: params.len(),
                    num_results: results.len(),
                    height,
                    live: true,
                    branched_to: false,
                    facts_mark: self.addr_facts.mark(),
                    facts_at_branches: usize::MAX,
                });
                self.interrupt_check();
            }
            Operator::If { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                let cond = self.pop();
                let then_block = self.b.create_block();
                let else_block = self.b.create_block();
                let dest = self.block_with_params(&results);
                self.b.ins().brif(cond, then_block, &[], else_block, &[]);
                self.b.seal_block(then_block);
                self.b.seal_block(else_block);
                self.b.switch_to_block(then_block);
                let else_params = self.peekn(params.len()).to_vec();
                let height = self.stack.len() - params.len();
                self.control.push(Frame {
                    kind: FrameKind::If {
                        else_block,
                        else_params,
                    },
                    dest,
                    num_params: params.len(),
                    num_results: results.len(),
                    height,
                    live: true,
                    branched_to: false,
                    facts_mark: self.addr_facts.mark(),
                    facts_at_branches: usize::MAX,
                });
            }
            Operator::Else => self.translate_else(),
            Operator::End => self.translate_end(),
            Operator::Br { relative_depth } => {
                let (block, n) = self.frame_target(relative_depth);
                let args = self.peekn(n).to_vec();
                self.jump_to(block, &args);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop();
                let (block, n) = self.frame_target(relative_depth);
                let args = block_args(self.peekn(n));
                let next = self.b.create_block();
                self.b.ins().brif(cond, block, &args, next, &[]);
                self.b.seal_block(next);
                self.b.switch_to_block(next);
            }
            Operator::BrTable { ref targets } => {
                let index = self.pop();
                let depths: Vec<u32> = targets
                    .targets()
                    .collect::<Result<_, _>>()
                    .map_err(|e| CompileError::invalid(&e, Some(self.func_index)))?;
                self.translate_br_table(index, &depths, targets.default());
            }
            Operator::Return => {
                let n = self.control[0].num_results;
                let args = self.peekn(n).to_vec();
                self.b.ins().return_(&args);
                self.reachable = false;
            }
            Operator::Unreachable => {
                self.b.ins().trap(trap_code(TrapKind::Unreachable));
                self.reachable = false;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn frame_target(&mut self, depth: u32) -> (Block, usize) {
        let i = self.control.len() - 1 - depth as usize;
        // The facts that hold here and will still be listed at the frame's
        // `end`: all of them from its own level, else those from before
        // the nested frame the branch is in.
        let held = match self.control.get(i + 1) {
            None => self.addr_facts.mark(),
            Some(inner) => inner.facts_mark,
        };
        let frame = &mut self.control[i];
        frame.facts_at_branches = frame.facts_at_branches.min(held);
        frame.target()
    }

    fn translate_br_table(&mut self, index: Value, depths: &[u32], default: u32) {
        let (_, n) = self.frame_target(default);
        let args = self.peekn(n).to_vec();
        // Branch values travel through per-target edge blocks so that every
        // jump-table entry is a plain block without arguments. Large tables
        // use them too, values or not: when SSA construction later gives a
        // target block a parameter (a local live into it), it adds the
        // argument to each branch into that block, finding the entry by a
        // scan of the whole table, which made a table of n targets cost n²
        // (a crafted module compiled for minutes). An edge block's single
        // jump is found at once.
        let direct = n == 0 && depths.len() <= BR_TABLE_DIRECT_MAX;
        let mut edges: std::collections::HashMap<u32, Block> = Default::default();
        let mut edge = |t: &mut Self, depth: u32| -> Block {
            if direct {
                return t.frame_target(depth).0;
            }
            *edges.entry(depth).or_insert_with(|| t.b.create_block())
        };
        let table: Vec<Block> = depths.iter().map(|d| edge(self, *d)).collect();
        let default_block = edge(self, default);
        let pool = &mut self.b.func.dfg;
        let calls: Vec<ir::BlockCall> = table.iter().map(|b| pool.block_call(*b, &[])).collect();
        let default_call = pool.block_call(default_block, &[]);
        let jt = self
            .b
            .create_jump_table(JumpTableData::new(default_call, &calls));
        self.b.ins().br_table(index, jt);
        let mut edges: Vec<(u32, Block)> = edges.into_iter().collect();
        edges.sort();
        for (depth, block) in edges {
            self.b.seal_block(block);
            self.b.switch_to_block(block);
            let (target, _) = self.frame_target(depth);
            self.jump_to(target, &args);
        }
        self.reachable = false;
    }

    fn translate_else(&mut self) {
        let frame = self.control.last_mut().unwrap();
        let FrameKind::If {
            else_block,
            ref else_params,
        } = frame.kind
        else {
            unreachable!("validated: else without if")
        };
        let (else_params, dest, n, height, mark) = (
            else_params.clone(),
            frame.dest,
            frame.num_results,
            frame.height,
            frame.facts_mark,
        );
        // The then-arm's facts do not hold on the else path.
        self.addr_facts.leave(mark);
        frame.kind = FrameKind::Else;
        if self.reachable {
            frame.branched_to = true;
            let args = self.peekn(n).to_vec();
            self.jump_to(dest, &args);
        }
        self.stack.truncate(height);
        self.stack.extend_from_slice(&else_params);
        self.b.switch_to_block(else_block);
        self.reachable = true;
    }

    fn translate_end(&mut self) {
        let mut frame = self.control.pop().unwrap();
        // What still holds after `end` (addr_facts.rs): after a loop, all
        // (only its fallthrough leads on); after a block, what held on its
        // fallthrough and on every branch to it; after an `if`, what held
        // before it (the arms are alternatives).
        let held = match frame.kind {
            FrameKind::Loop { .. } => self.addr_facts.mark(),
            FrameKind::Block if self.reachable => {
                frame.facts_at_branches.min(self.addr_facts.mark())
            }
            FrameKind::Block => frame.facts_at_branches,
            FrameKind::If { .. } | FrameKind::Else => frame.facts_mark,
        };
        self.addr_facts.leave(held);
        if self.reachable {
            frame.branched_to = true;
            let args = self.peekn(frame.num_results).to_vec();
            self.jump_to(frame.dest, &args);
        }
        match frame.kind {
            // An `if` without `else` passes its parameters straight through.
            FrameKind::If {
                else_block,
                else_params,
            } => {
                self.b.switch_to_block(else_block);
                self.jump_to(frame.dest, &else_params);
                frame.branched_to = true;
            }
            FrameKind::Loop { header } => self.b.seal_block(header),
            _ => {}
        }
        self.stack.truncate(frame.height);
        if frame.branched_to {
            self.b.switch_to_block(frame.dest);
            self.b.seal_block(frame.dest);
            self.stack
                .extend_from_slice(self.b.block_params(frame.dest));
            self.reachable = true;
        } else {
            self.reachable = false;
        }
    }

    /// In dead code only the nesting matters: frames are tracked so that
    /// `else`/`end` find their partners, and the code is dropped.
    pub(super) fn translate_unreachable(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        match *op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                let placeholder = self.control.last().unwrap().dest;
                let mark = self.addr_facts.mark();
                let mut frame = Frame::block(placeholder, 0, 0, self.stack.len(), false, mark);
                frame.kind = FrameKind::Else;
                self.control.push(frame);
            }
            Operator::Else => {
                let frame = self.control.last_mut().unwrap();
                if frame.live {
                    // The then-arm ended in dead code; the else-arm is live.
                    self.translate_else();
                }
            }
            Operator::End => {
                let frame = self.control.last().unwrap();
                if frame.live {
                    self.translate_end();
                } else {
                    self.control.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// With `poll_interrupts`, loop headers (and entries of functions that
    /// call) poll the interrupt word; by default the runtime stops running
    /// code with a signal instead and nothing is emitted.
    pub(super) fn interrupt_check(&mut self) {
        if !self.env.config.poll_interrupts {
            return;
        }
        let flag = self.b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            self.vmctx,
            VMOffsets::INTERRUPT as i32,
        );
        self.b.ins().trapnz(flag, trap_code(TrapKind::Interrupt));
    }
}
