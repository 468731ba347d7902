using MlNetTransfer.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>
/// AdamW, or SGD with Nesterov momentum, stepped on one flat buffer per parameter group. Each parameter becomes a
/// view into its group's buffer (<c>Tensor.set_</c>), and its gradient a view into a flat gradient buffer that
/// autograd accumulates into in place; zeroing the gradients and the whole update are then a handful of kernels per
/// group, where TorchSharp's optimizers launch about nine per parameter tensor (62 tensors in a ResNet-18). The
/// arithmetic is TorchSharp's, operation for operation, so on the CPU the weights are bit for bit those of
/// <c>optim.AdamW</c> / <c>optim.SGD</c> — and, unlike theirs, it holds its Scalars (<see cref="HeldScalars"/>).
/// Channels-last weights keep their layout: each parameter views its slice of the buffer with its own strides (the
/// update is element by element, so the order in the buffer does not matter); a checkpoint holds the state in each
/// parameter's logical (NCHW) order, so it resumes with either layout.
/// </summary>
internal sealed class FlatOptimizer : IOptimizerStep
{
    const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8, Momentum = FineTuneOptions.SgdMomentum; // TorchSharp's AdamW defaults
    const int Format = 1; // the state in each parameter's logical order, which is what it always held: contiguous parameters

    readonly OptimizerKind _kind;
    readonly double _weightDecay;
    readonly List<Group> _groups = [];

    /// <summary>Where a parameter lies in its group's buffers.</summary>
    readonly record struct Slot(long Offset, long[] Shape, long[] Strides)
    {
        public long Count => Shape.Aggregate(1L, (a, b) => a * b);

        /// <summary>This parameter's view of a buffer of its group.</summary>
        public Tensor In(Tensor buffer) => buffer.as_strided(Shape, Strides, Offset);
    }

    sealed class Group(Tensor values, Tensor gradients, Tensor first, Tensor? second, double rate, IReadOnlyList<Slot> slots)
    {
        public IReadOnlyList<Slot> Slots { get; } = slots;
        public Tensor Values { get; } = values;
        public Tensor Gradients { get; } = gradients;
        /// <summary>AdamW's first moment, or SGD's momentum buffer.</summary>
        public Tensor First { get; } = first;
        /// <summary>AdamW's second moment.</summary>
        public Tensor? Second { get; } = second;
        public double Rate { get; set; } = rate;
        public long Steps { get; set; }
    }

    public FlatOptimizer(IEnumerable<(IReadOnlyList<Parameter> Parameters, double Rate)> groups, OptimizerKind kind, double weightDecay)
    {
        _kind = kind;
        _weightDecay = weightDecay;
        using var _ = no_grad();
        foreach (var (parameters, rate) in groups)
        {
            if (parameters.Count == 0) continue;
            long total = parameters.Sum(p => p.numel());
            var values = empty(total, dtype: parameters[0].dtype, device: parameters[0].device);
            var gradients = zeros(total, dtype: parameters[0].dtype, device: parameters[0].device);
            var slots = new List<Slot>();
            long offset = 0;
            foreach (var parameter in parameters)
            {
                if (!parameter.is_contiguous() && !ChannelsLast.Is(parameter))
                    throw new InvalidOperationException($"flat optimizer buffers need dense parameters (contiguous or channels-last), not strides [{string.Join(", ", parameter.stride())}]");
                var slot = new Slot(offset, parameter.shape, parameter.stride());
                using var view = slot.In(values);
                view.copy_(parameter.detach());
                parameter.set_(view);
                using var gradientView = slot.In(gradients);
                parameter.grad = gradientView; // autograd adds into it in place from now on
                slots.Add(slot);
                offset += slot.Count;
            }
            _groups.Add(new Group(values, gradients, zeros_like(values), kind == OptimizerKind.AdamW ? zeros_like(values) : null, rate, slots));
        }
    }

    public int Groups => _groups.Count;

    public void SetRate(int group, double rate) => _groups[group].Rate = rate;

    public void ZeroGrad()
    {
        foreach (var group in _groups) group.Gradients.zero_();
    }

    public void Step()
    {
        using var _ = no_grad();
        foreach (var group in _groups)
        {
            using var scope = NewDisposeScope();
            group.Steps++;
            if (_kind == OptimizerKind.AdamW) AdamW(group);
            else Sgd(group);
        }
    }

    /// <summary>TorchSharp's AdamW step (decoupled decay, bias-corrected moments), on the whole group at once.</summary>
    void AdamW(Group g)
    {
        double rate = g.Rate;
        double correction1 = 1 - Math.Pow(Beta1, g.Steps), correction2 = 1 - Math.Pow(Beta2, g.Steps);
        using Scalar decay = (1 - rate * _weightDecay).ToScalar(), beta1 = Beta1.ToScalar(), rest1 = (1 - Beta1).ToScalar(),
            beta2 = Beta2.ToScalar(), rest2 = (1 - Beta2).ToScalar(), epsilon = Epsilon.ToScalar(), step = (-rate / correction1).ToScalar();
        g.Values.mul_(decay);
        g.First.mul_(beta1).add_(g.Gradients, alpha: rest1);
        g.Second!.mul_(beta2).addcmul_(g.Gradients, g.Gradients, value: rest2);
        var denominator = g.Second.sqrt().DividedBy(Math.Sqrt(correction2)).add_(epsilon, HeldScalars.One);
        g.Values.addcdiv_(g.First, denominator, value: step);
    }

    /// <summary>TorchSharp's SGD step: L2 decay added to the gradient, momentum started from the first gradient,
    /// Nesterov's look-ahead.</summary>
    void Sgd(Group g)
    {
        using Scalar decay = _weightDecay.ToScalar(), momentum = Momentum.ToScalar(), step = (-g.Rate).ToScalar();
        var gradient = _weightDecay != 0 ? g.Gradients.add(g.Values, alpha: decay) : g.Gradients;
        if (g.Steps == 1) g.First.copy_(gradient);
        else g.First.mul_(momentum).add_(gradient, alpha: HeldScalars.One);
        g.Values.add_(gradient.add(g.First, alpha: momentum), alpha: step);
    }

    public void Save(BinaryWriter writer)
    {
        writer.Write("flat-optimizer");
        writer.Write(Format);
        writer.Write((int)_kind);
        writer.Write(_groups.Count);
        foreach (var group in _groups)
        {
            writer.Write(group.Steps);
            Write(writer, group, group.First);
            if (group.Second is { } second) Write(writer, group, second);
        }
    }

    public void Load(BinaryReader reader)
    {
        string header;
        try
        {
            header = reader.ReadString();
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            header = "";
        }
        if (header != "flat-optimizer" || reader.ReadInt32() != Format)
            throw new InvalidDataException("the checkpoint's optimizer state was written by another kind of optimizer step: " +
                "TorchSharp's own (which stepped channels-last weights, on the CPU by default, before this step took them, " +
                "and which TrainingContext.FlatOptimizer = false still uses); resume with what wrote it, or train again");
        if ((OptimizerKind)reader.ReadInt32() != _kind || reader.ReadInt32() != _groups.Count)
            throw new InvalidDataException("the checkpoint's optimizer state is for another optimizer or other parameter groups");
        using var _ = no_grad();
        foreach (var group in _groups)
        {
            group.Steps = reader.ReadInt64();
            Read(reader, group, group.First);
            if (group.Second is { } second) Read(reader, group, second);
        }
    }

    /// <summary>A group's state <paramref name="buffer"/>, parameter by parameter in logical order.</summary>
    static void Write(BinaryWriter writer, Group group, Tensor buffer)
    {
        using var scope = NewDisposeScope();
        var cpu = cat(group.Slots.Select(slot => slot.In(buffer).reshape(-1)).ToList()).cpu();
        writer.Write(cpu.numel());
        writer.Write(cpu.bytes);
    }

    static void Read(BinaryReader reader, Group group, Tensor into)
    {
        long count = reader.ReadInt64();
        if (count != into.numel()) throw new InvalidDataException($"optimizer state of {count} values for a group of {into.numel()}");
        using var scope = NewDisposeScope();
        var cpu = empty(count, dtype: into.dtype);
        cpu.bytes = reader.ReadBytes(checked((int)(count * into.ElementSize)));
        long offset = 0;
        foreach (var slot in group.Slots)
        {
            slot.In(into).copy_(cpu.narrow(0, offset, slot.Count).view(slot.Shape));
            offset += slot.Count;
        }
    }

    public void Dispose()
    {
        foreach (var group in _groups)
        {
            group.Values.Dispose();
            group.Gradients.Dispose();
            group.First.Dispose();
            group.Second?.Dispose();
        }
        _groups.Clear();
    }
}
