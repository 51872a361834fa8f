//! Random Fourier position encoding (`PositionEmbeddingRandom`).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Distribution, Tensor, TensorData, backend::Backend};

/// Configuration of [`PositionEmbeddingRandom`].
#[derive(Config, Debug)]
pub struct PositionEmbeddingRandomConfig {
    /// Number of frequencies; the encoding is twice as wide.
    pub num_pos_feats: usize,
    /// Standard deviation of the random frequencies.
    #[config(default = 1.0)]
    pub scale: f64,
}

/// Encodes normalised `(x, y)` coordinates as `[sin(2 pi c G), cos(2 pi c G)]`.
#[derive(Module, Debug)]
pub struct PositionEmbeddingRandom<B: Backend> {
    /// The frequency matrix `G`, `[2, num_pos_feats]` (a buffer in SAM's checkpoints).
    pub positional_encoding_gaussian_matrix: Param<Tensor<B, 2>>,
}

impl PositionEmbeddingRandomConfig {
    /// Builds the module with Gaussian frequencies (a frozen buffer).
    pub fn init<B: Backend>(&self, device: &B::Device) -> PositionEmbeddingRandom<B> {
        let matrix = Tensor::random(
            [2, self.num_pos_feats],
            Distribution::Normal(0.0, self.scale),
            device,
        );
        PositionEmbeddingRandom {
            positional_encoding_gaussian_matrix: Param::from_tensor(matrix).set_require_grad(false),
        }
    }
}

impl<B: Backend> PositionEmbeddingRandom<B> {
    /// Encodes `[..., 2]` coordinates in `[0, 1]` into `[..., 2 * num_pos_feats]`.
    pub fn encode<const D: usize>(&self, coords: Tensor<B, D>) -> Tensor<B, D> {
        let dims = coords.dims();
        let matrix = self.positional_encoding_gaussian_matrix.val();
        let feats = matrix.dims()[1];
        let flat: Tensor<B, 2> = coords.reshape([-1, 2]);
        let projected = (flat * 2.0 - 1.0).matmul(matrix) * (2.0 * std::f64::consts::PI);
        let encoded = Tensor::cat(vec![projected.clone().sin(), projected.cos()], 1);
        let mut out_dims = dims;
        out_dims[D - 1] = 2 * feats;
        encoded.reshape(out_dims)
    }

    /// The dense encoding of a `[h, w]` grid of cell centres: `[2 * num_pos_feats, h, w]`.
    pub fn grid(&self, size: [usize; 2]) -> Tensor<B, 3> {
        let [h, w] = size;
        let device = self.positional_encoding_gaussian_matrix.device();
        let coords: Vec<f32> = (0..h)
            .flat_map(|y| {
                (0..w).flat_map(move |x| [(x as f32 + 0.5) / w as f32, (y as f32 + 0.5) / h as f32])
            })
            .collect();
        let coords = Tensor::<B, 3>::from_data(TensorData::new(coords, [h, w, 2]), &device);
        self.encode(coords).permute([2, 0, 1])
    }

    /// Encodes pixel coordinates `[..., 2]` (x, y) of an image of `image_size = [h, w]`.
    pub fn encode_pixels<const D: usize>(
        &self,
        coords: Tensor<B, D>,
        image_size: [usize; 2],
    ) -> Tensor<B, D> {
        let device = coords.device();
        let mut scale_dims = [1; D];
        scale_dims[D - 1] = 2;
        let scale = Tensor::<B, 1>::from_data(
            TensorData::new(
                vec![1.0 / image_size[1] as f32, 1.0 / image_size[0] as f32],
                [2],
            ),
            &device,
        )
        .reshape(scale_dims);
        self.encode(coords * scale)
    }
}
