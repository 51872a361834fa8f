//! Building the model of a run: initialisation by seed, official SAM weights when given, and the
//! trainable/frozen split.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use burn_flex::{Flex, FlexDevice};
use echoone_model::{EchoOne, EchoOneConfig};

use crate::error::{Result, TrainError};
use echoone_run::config::{FreezePolicy, TrainConfig};

/// Whether the authors' frozen split applies under `policy` (SAM weights loaded or not).
pub fn freezes(policy: FreezePolicy, sam_loaded: bool) -> bool {
    match policy {
        FreezePolicy::Auto => sam_loaded,
        FreezePolicy::Authors => true,
        FreezePolicy::None => false,
    }
}

/// Initialises the model of `config` (seeded), loads SAM weights from `sam` when given, and
/// freezes per the configuration. Returns the model and a line saying what was done.
pub fn build<B: Backend>(
    config: &TrainConfig,
    sam: Option<&Path>,
    device: &B::Device,
) -> Result<(EchoOne<B>, String)> {
    let mut model = init_seeded::<B>(&config.model, config.seed, device)?;
    let mut note = String::from("random initialisation");
    if let Some(path) = sam {
        let (loaded, report) = model.load_sam_checkpoint(&config.model, path)?;
        model = loaded;
        note = format!(
            "SAM weights from {} ({} tensors)",
            path.display(),
            report.applied.len()
        );
    }
    Ok((freeze(model, config.freeze, sam.is_some(), &mut note), note))
}

/// Held while [`init_seeded`] draws from burn-flex's process-wide random generator.
static SEEDING: Mutex<()> = Mutex::new(());

/// The model of `config` with weights drawn from `seed` on the CPU reference backend (burn-flex)
/// and copied to `device`: the same starting weights on every backend (each backend's own
/// random generator draws other numbers from the same seed).
///
/// burn-flex's generator is one per process: calls on several threads wait for each other, but
/// anything else drawing from it meanwhile (a `Tensor::random`, a burn-flex module's lazy
/// initialisation) changes the weights drawn.
pub fn init_seeded<B: Backend>(
    config: &EchoOneConfig,
    seed: u64,
    device: &B::Device,
) -> Result<EchoOne<B>> {
    // burn-flex's generator is one per process: nothing else may draw from it between seeding
    // it and materialising every parameter, and building the model on `device` below may draw
    // from it too (lazy parameters on burn-flex), so the lock covers both.
    let _alone = SEEDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut drawn = seeded_weights(config, seed)?;
    let mut assign = Assign::<B> {
        path: Vec::new(),
        drawn: &mut drawn,
        device: device.clone(),
        missing: Vec::new(),
    };
    let model = config.init::<B>(device)?.map(&mut assign);
    let missing = std::mem::take(&mut assign.missing);
    if !missing.is_empty() || !drawn.is_empty() {
        return Err(TrainError::Config(format!(
            "initial weights: parameters not drawn {missing:?}, drawn but unused {:?}",
            drawn.keys().collect::<Vec<_>>()
        )));
    }
    Ok(model)
}

/// The weights of `config` drawn on burn-flex from `seed`, by parameter path (call it holding
/// [`SEEDING`]).
fn seeded_weights(config: &EchoOneConfig, seed: u64) -> Result<HashMap<String, TensorData>> {
    let cpu = FlexDevice;
    Flex::seed(&cpu, seed);
    let reference = config.init::<Flex>(&cpu)?;
    let mut collect = Collect::default();
    reference.visit(&mut collect);
    Ok(collect.drawn)
}

/// Every float parameter's values by path, materialising lazy parameters in module order.
#[derive(Default)]
struct Collect {
    path: Vec<String>,
    drawn: HashMap<String, TensorData>,
}

impl ModuleVisitor<Flex> for Collect {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Flex, D>>) {
        self.drawn
            .insert(self.path.join("."), param.val().into_data());
    }
}

/// Gives every float parameter the values drawn for its path (the parameter keeps its id and
/// whether it requires gradients; a lazy one is never drawn on its own backend).
struct Assign<'a, B: Backend> {
    path: Vec<String>,
    drawn: &'a mut HashMap<String, TensorData>,
    device: B::Device,
    missing: Vec<String>,
}

impl<B: Backend> ModuleMapper<B> for Assign<'_, B> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let path = self.path.join(".");
        match self.drawn.remove(&path) {
            Some(data) => {
                let id = param.id;
                param.transform_for_load(Tensor::from_data(data, &self.device), id)
            }
            None => {
                self.missing.push(path);
                param
            }
        }
    }
}

/// Applies the frozen split of `policy` to `model`, noting it.
pub fn freeze<B: Backend>(
    model: EchoOne<B>,
    policy: FreezePolicy,
    sam_loaded: bool,
    note: &mut String,
) -> EchoOne<B> {
    if freezes(policy, sam_loaded) {
        note.push_str("; SAM's pre-trained parts frozen (authors' split)");
        model.freeze_as_authors()
    } else {
        note.push_str("; every parameter trains");
        model
    }
}
