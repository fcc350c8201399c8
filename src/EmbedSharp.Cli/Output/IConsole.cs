namespace EmbedSharp.Cli.Output;

/// <summary>Where commands write: the real terminal, or a buffer in tests.</summary>
public interface IConsole
{
    /// <summary>Normal output.</summary>
    TextWriter Out { get; }

    /// <summary>Errors and diagnostics.</summary>
    TextWriter Error { get; }

    /// <summary>Standard input (words for <c>vector</c> when none are given).</summary>
    TextReader In { get; }
}

/// <summary>The process's standard output and error.</summary>
public sealed class SystemConsole : IConsole
{
    /// <summary>The one instance.</summary>
    public static SystemConsole Instance { get; } = new();

    private SystemConsole()
    {
    }

    /// <inheritdoc/>
    public TextWriter Out => Console.Out;

    /// <inheritdoc/>
    public TextWriter Error => Console.Error;

    /// <inheritdoc/>
    public TextReader In => Console.In;
}

/// <summary>A console that records everything, for tests and for embedding the CLI in other programs.</summary>
public sealed class BufferConsole(string input = "") : IConsole
{
    /// <inheritdoc/>
    public TextReader In { get; } = new StringReader(input);

    /// <inheritdoc/>
    public TextWriter Out { get; } = new StringWriter { NewLine = "\n" };

    /// <inheritdoc/>
    public TextWriter Error { get; } = new StringWriter { NewLine = "\n" };

    /// <summary>Everything written to <see cref="Out"/>.</summary>
    public string OutText => Out.ToString()!;

    /// <summary>Everything written to <see cref="Error"/>.</summary>
    public string ErrorText => Error.ToString()!;
}
