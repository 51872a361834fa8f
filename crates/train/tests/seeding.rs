//! Seeded initialisation on several threads: every build gets the seed's weights. Alone in its
//! test binary, since anything else drawing from burn-flex's process-wide generator meanwhile
//! would change them (see `init_seeded`).

mod common;

use echoone_model::EchoOneConfig;
use echoone_train::model_setup::init_seeded;

type Ad = burn_autodiff::Autodiff<burn_flex::Flex>;

#[test]
fn seeded_weights_stay_the_seeds_while_other_threads_build_models() {
    let config = EchoOneConfig::tiny();
    let device = burn_flex::FlexDevice;
    let first = common::values(&init_seeded::<Ad>(&config, 7, &device).unwrap());
    let built: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..3)
                        .map(|_| common::values(&init_seeded::<Ad>(&config, 7, &device).unwrap()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    for (i, weights) in built.iter().enumerate() {
        assert!(*weights == first, "build {i} drew other weights");
    }
}
