namespace EmbedSharp.Models.Dense;

/// <summary>How a <see cref="Linear"/> layer's weight and bias start (<c>fanIn = InFeatures</c>, <c>fanOut = OutFeatures</c>).</summary>
public enum LinearInit
{
    /// <summary>PyTorch's <c>nn.Linear</c> default: weight and bias uniform in <c>±1/√fanIn</c> (kaiming_uniform with a = √5).</summary>
    PyTorch,

    /// <summary>Glorot/Xavier uniform: weight in <c>±√(6/(fanIn + fanOut))</c>, bias zero. Suits tanh and sigmoid.</summary>
    XavierUniform,

    /// <summary>Glorot/Xavier normal: weight ~ N(0, 2/(fanIn + fanOut)), bias zero.</summary>
    XavierNormal,

    /// <summary>He/Kaiming uniform for ReLU: weight in <c>±√(6/fanIn)</c>, bias zero.</summary>
    HeUniform,

    /// <summary>He/Kaiming normal for ReLU: weight ~ N(0, 2/fanIn), bias zero.</summary>
    HeNormal,
}
