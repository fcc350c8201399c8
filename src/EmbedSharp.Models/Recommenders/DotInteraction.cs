using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Recommenders;

/// <summary>
/// DLRM's pairwise dot interaction: for each row, F vectors of width d (the bottom MLP's output and
/// each sparse feature's pooled embedding) give the <c>F(F−1)/2</c> dot products <c>v_i·v_j</c>, i &lt; j,
/// in the order (0,1), (0,2), …, (1,2), … (the strictly lower triangle read row by row, transposed).
/// </summary>
public static class DotInteraction
{
    /// <summary>Number of outputs per row for <paramref name="vectors"/> vectors.</summary>
    public static int Outputs(int vectors) => vectors * (vectors - 1) / 2;

    /// <summary><c>output[b, p(i, j)] = Σ_k x[b, i, k] · x[b, j, k]</c> for i &lt; j.</summary>
    /// <param name="input"><c>[batch, vectors, dims]</c>.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="vectors">F.</param>
    /// <param name="dims">d.</param>
    /// <param name="output"><c>[batch, F(F−1)/2]</c>.</param>
    public static void Forward(ReadOnlySpan<float> input, int batch, int vectors, int dims, Span<float> output)
    {
        Check("dot_interaction.forward", input.Length, batch, vectors, dims, output.Length);
        int pairs = Outputs(vectors);
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> x = input.Slice(b * vectors * dims, vectors * dims);
            int p = 0;
            for (int i = 0; i < vectors; i++)
                for (int j = i + 1; j < vectors; j++)
                    output[b * pairs + p++] = System.Numerics.Tensors.TensorPrimitives.Dot(x.Slice(i * dims, dims), x.Slice(j * dims, dims));
        }
    }

    /// <summary><c>∂x_i += Σ_j ∂out(i, j) · x_j</c> (over both orders of the pair); writes (overwrites) <paramref name="gradInput"/>.</summary>
    public static void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, int batch, int vectors, int dims, Span<float> gradInput)
    {
        Check("dot_interaction.backward", input.Length, batch, vectors, dims, gradOutput.Length);
        Guard.Length("dot_interaction.backward", gradInput.Length, (long)batch * vectors * dims, "batch × vectors × dims");
        int pairs = Outputs(vectors);
        gradInput.Clear();
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> x = input.Slice(b * vectors * dims, vectors * dims);
            Span<float> g = gradInput.Slice(b * vectors * dims, vectors * dims);
            int p = 0;
            for (int i = 0; i < vectors; i++)
                for (int j = i + 1; j < vectors; j++)
                {
                    float d = gradOutput[b * pairs + p++];
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(x.Slice(j * dims, dims), d, g.Slice(i * dims, dims), g.Slice(i * dims, dims));
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(x.Slice(i * dims, dims), d, g.Slice(j * dims, dims), g.Slice(j * dims, dims));
                }
        }
    }

    private static void Check(string op, int inputLength, int batch, int vectors, int dims, int outputLength)
    {
        Guard.NonNegative(op, batch);
        Guard.Positive(op, vectors);
        Guard.NonNegative(op, dims);
        Guard.Length(op, inputLength, (long)batch * vectors * dims, "batch × vectors × dims");
        Guard.Length(op, outputLength, (long)batch * Outputs(vectors), "batch × F(F−1)/2");
    }
}
