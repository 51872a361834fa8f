//! [`FusedOps`] with the composed default bodies for the other backends EchoONE runs on.

#[cfg(any(feature = "ndarray", feature = "tch", feature = "cuda"))]
use crate::fused::FusedOps;

#[cfg(feature = "ndarray")]
impl<E, I, Q> FusedOps for burn_ndarray::NdArray<E, I, Q>
where
    E: burn_ndarray::FloatNdArrayElement,
    I: burn_ndarray::IntNdArrayElement,
    Q: burn_ndarray::QuantElement,
    burn_ndarray::NdArrayTensor: From<burn_ndarray::SharedArray<E>>,
    burn_ndarray::NdArrayTensor: From<burn_ndarray::SharedArray<I>>,
{
}

#[cfg(feature = "tch")]
impl<E: burn_tch::TchElement> FusedOps for burn_tch::LibTorch<E> {}

/// CubeCL's CUDA backend with burn-fusion (`burn_cuda::Cuda`, burn-cuda's default features).
#[cfg(feature = "cuda")]
impl<F, I> FusedOps for burn_cuda::Cuda<F, I>
where
    F: burn_cubecl::FloatElement,
    I: burn_cubecl::IntElement,
    burn_cuda::Cuda<F, I>: burn::tensor::backend::Backend,
{
}

/// CubeCL's CUDA backend without burn-fusion.
#[cfg(feature = "cuda")]
impl<F, I, BT> FusedOps
    for burn_cubecl::CubeBackend<burn_cubecl::cubecl::cuda::CudaRuntime, F, I, BT>
where
    F: burn_cubecl::FloatElement,
    I: burn_cubecl::IntElement,
    BT: burn_cubecl::BoolElement,
{
}
