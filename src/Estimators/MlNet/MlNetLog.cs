using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MlNetTransfer.MlNet;

/// <summary>
/// ML.NET's own log for a step's one-line messages (the device, the classifier's solve, the strategy chosen and why,
/// rows skipped): where the options name no <c>Log</c> of their own, the messages go where every ML.NET trainer's go —
/// <c>mlContext.Log</c>, as Info from the source the step is named by — so an app that already listens there sees them
/// with no further code, and one that does not stays quiet.
/// </summary>
internal static class MlNetLog
{
    /// <summary>A writer to <paramref name="mlContext"/>'s log, the messages' source "<paramref name="step"/>;
    /// <paramref name="phase"/>" (ML.NET's host and channel names).</summary>
    public static Action<string> For(MLContext mlContext, string step, string phase)
    {
        var host = ((IHostEnvironment)mlContext).Register(step);
        return message =>
        {
            using var channel = host.Start(phase);
            channel.Info(MessageSensitivity.None, message);
        };
    }
}
