//! burn's `BatchNorm` over `[B, C, H, W]`, computed on `[B * C, H * W]` rows.

use burn::nn::BatchNorm;
use burn::tensor::{Tensor, backend::Backend};

/// Applies `bn` to `x` exactly as `BatchNorm::forward` does (batch statistics and a running
/// update with the biased variance while autodiff is on, the running statistics otherwise).
///
/// Every broadcast is one value per `[B * C, H * W]` row, which CPU backends run as contiguous
/// SIMD loops; burn's own forward broadcasts `[1, C, 1, 1]` tensors through a strided walk.
pub(crate) fn batch_norm<B: Backend>(bn: &BatchNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, channels, h, w] = x.dims();
    let rows = x.reshape([batch * channels, h * w]);
    let per_row = |t: Tensor<B, 1>| {
        t.reshape([1, channels])
            .repeat_dim(0, batch)
            .reshape([batch * channels, 1])
    };
    let per_channel = |t: Tensor<B, 2>| t.reshape([batch, channels]).sum_dim(0).reshape([channels]);
    let count = (batch * h * w) as f64;
    let (centred, var) = if B::ad_enabled(&rows.device()) {
        let mean = per_channel(rows.clone().sum_dim(1)) / count;
        let centred = rows - per_row(mean.clone());
        let var = per_channel(centred.clone().square().sum_dim(1)) / count;
        let keep = 1.0 - bn.momentum;
        let running = |state: &burn::module::RunningState<Tensor<B, 1>>, batch: &Tensor<B, 1>| {
            let updated = state.value_sync().to_device(&batch.device()) * keep
                + batch.clone().detach() * bn.momentum;
            state.update(updated.detach());
        };
        running(&bn.running_mean, &mean);
        running(&bn.running_var, &var);
        (centred, var)
    } else {
        let device = rows.device();
        let mean = bn.running_mean.value().to_device(&device);
        let var = bn.running_var.value().to_device(&device);
        (rows - per_row(mean), var)
    };
    let scale = bn.gamma.val() / (var + bn.epsilon).sqrt();
    (centred * per_row(scale) + per_row(bn.beta.val())).reshape([batch, channels, h, w])
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::nn::BatchNormConfig;
    use burn::tensor::{Distribution, Tolerance};
    use burn_autodiff::Autodiff;
    use burn_flex::Flex;

    use super::*;

    type Ad = Autodiff<Flex>;

    fn random<Bk: Backend, const D: usize>(shape: [usize; D], d: &Bk::Device) -> Tensor<Bk, D> {
        Tensor::random(shape, Distribution::Normal(0.5, 2.0), d)
    }

    #[test]
    fn training_matches_burns_batch_norm_with_gradients_and_running_statistics() {
        let d = Default::default();
        // Two modules: a clone would share its running statistics.
        let (gamma, beta) = (random::<Ad, 1>([5], &d), random::<Ad, 1>([5], &d));
        let make = || {
            let mut bn = BatchNormConfig::new(5).init::<Ad>(&d);
            bn.gamma = Param::from_tensor(gamma.clone());
            bn.beta = Param::from_tensor(beta.clone());
            bn
        };
        let (ours, burns) = (make(), make());
        let x = random::<Ad, 4>([3, 5, 4, 6], &d).require_grad();
        let weights = random::<Ad, 4>([3, 5, 4, 6], &d);
        let run = |y: Tensor<Ad, 4>| {
            let grads = (y.clone() * weights.clone()).sum().backward();
            (y.inner(), x.grad(&grads).expect("x grad"))
        };
        let (y_ours, gx_ours) = run(batch_norm(&ours, x.clone()));
        let (y_burn, gx_burn) = run(burns.forward(x.clone()));
        let tol = Tolerance::<f32>::absolute(1e-5);
        y_ours
            .into_data()
            .assert_approx_eq(&y_burn.into_data(), tol);
        gx_ours
            .into_data()
            .assert_approx_eq(&gx_burn.into_data(), tol);
        for (a, b) in [
            (&ours.running_mean, &burns.running_mean),
            (&ours.running_var, &burns.running_var),
        ] {
            a.value()
                .into_data()
                .assert_approx_eq(&b.value().into_data(), tol);
        }
    }

    #[test]
    fn inference_uses_the_running_statistics_like_burns_batch_norm() {
        let d = Default::default();
        let mut bn = BatchNormConfig::new(4).init::<Flex>(&d);
        bn.gamma = Param::from_tensor(random([4], &d));
        bn.beta = Param::from_tensor(random([4], &d));
        bn.running_mean = burn::module::RunningState::new(random([4], &d));
        bn.running_var = burn::module::RunningState::new(random::<Flex, 1>([4], &d).abs() + 0.1);
        let x = random::<Flex, 4>([2, 4, 3, 5], &d);
        batch_norm(&bn, x.clone())
            .into_data()
            .assert_approx_eq(&bn.forward(x).into_data(), Tolerance::<f32>::absolute(1e-5));
    }
}
